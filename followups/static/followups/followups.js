// Field check-in (外勤签到): the browser's location goes into the quick log form's hidden fields.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-checkin]");
  if (!button) return;
  var form = button.closest("form");
  var status = form.querySelector("[data-checkin-status]");
  var method = form.querySelector("[name=method]");
  if (method) method.value = "visit";
  if (!navigator.geolocation) {
    status.textContent = status.dataset.msgFail;
    return;
  }
  status.textContent = status.dataset.msgWait;
  navigator.geolocation.getCurrentPosition(
    function (pos) {
      form.querySelector("[name=checkin_lat]").value = pos.coords.latitude.toFixed(6);
      form.querySelector("[name=checkin_lng]").value = pos.coords.longitude.toFixed(6);
      form.querySelector("[name=checkin_accuracy]").value = Math.round(pos.coords.accuracy || 0);
      status.textContent = status.dataset.msgOk + " (" + pos.coords.latitude.toFixed(4) + ", " + pos.coords.longitude.toFixed(4) + ")";
      button.classList.replace("btn-outline-secondary", "btn-success");
    },
    function () { status.textContent = status.dataset.msgFail; },
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 }
  );
});
