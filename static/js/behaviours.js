// Small page behaviours declared in markup, so no template needs inline event handlers
// (the Content Security Policy allows no inline script):
//   <form data-confirm="Sure?">   asks before submitting;
//   <select data-autosubmit>      submits its form when changed.
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
document.addEventListener("change", function (event) {
  if (event.target.hasAttribute && event.target.hasAttribute("data-autosubmit") && event.target.form) {
    event.target.form.submit();
  }
});
