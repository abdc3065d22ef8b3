/* Customer archive pages: select-all + bulk bar on the list, "add another contact" on the form. */
(function () {
  "use strict";

  function updateCount() {
    var counter = document.querySelector("[data-selected-count]");
    if (counter) counter.textContent = document.querySelectorAll('input[name="pks"]:checked').length;
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      document.querySelectorAll('input[name="' + target.dataset.selectAll + '"]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.matches('input[name="pks"], [data-select-all]')) updateCount();
    if (target.matches("[data-bulk-action]")) {
      document.querySelectorAll("[data-bulk-field]").forEach(function (field) {
        field.classList.toggle("d-none", field.dataset.bulkField !== target.value);
      });
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-formset-add]");
    if (!button) return;
    var card = button.closest(".card-body");
    var total = card.querySelector('input[name$="-TOTAL_FORMS"]');
    var template = card.querySelector("template[data-formset-template]");
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    card.querySelector("[data-formset-body]").insertAdjacentHTML("beforeend", html);
    total.value = index + 1;
    var rows = card.querySelectorAll("[data-formset-form]");
    var first = rows[rows.length - 1].querySelector("input[type=text]");
    if (first) first.focus();
  });
})();
