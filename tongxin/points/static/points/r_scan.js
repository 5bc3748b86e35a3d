/* A volunteer's check-in or check-out (points/r_scan.html): the browser's position goes with the form,
   so the server can tell the volunteer is at the activity. The messages come from data-msg-* attributes
   of #geo-status (translated in the template). */
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  if (!form) return;
  var status = document.getElementById("geo-status");
  form.addEventListener("submit", function (event) {
    if (document.getElementById("lat").value) return;
    event.preventDefault();
    if (!navigator.geolocation) { status.textContent = status.dataset.msgNone; return; }
    status.textContent = status.dataset.msgWait;
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("lat").value = pos.coords.latitude;
      document.getElementById("lng").value = pos.coords.longitude;
      form.submit();
    }, function () { status.textContent = status.dataset.msgFail; },
    {enableHighAccuracy: true, timeout: 15000});
  });
})();
