/* Submit a form when one of its <select data-autosubmit> changes (the language switch, the department
   pick of "my numbers"). An unobtrusive listener instead of onchange="…": the Content-Security-Policy
   runs no inline handler (docs/security.md). Without script, the form's own button still submits. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.hasAttribute("data-autosubmit") || !select.form) return;
    if (select.form.requestSubmit) select.form.requestSubmit();
    else select.form.submit();
  });
})();
