/* The clerk's priority-service check (points/check.html): scan the resident's code with the camera.
   The camera path needs the browser's BarcodeDetector (Chromium on Android, Chrome OS, macOS); elsewhere
   the clerk types the code, or a handheld scanner types it into the focused field. The messages come
   from data-msg-* attributes of #camera-status (translated in the template). */
(function () {
  "use strict";
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  var button = document.getElementById("camera-button"), video = document.getElementById("camera");
  var input = document.getElementById("id_token"), status = document.getElementById("camera-status");
  if (!button || !video || !input || !status) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var detector = new BarcodeDetector({formats: ["qr_code"]});
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}}).then(function (stream) {
      video.srcObject = stream; video.hidden = false; video.play();
      status.textContent = status.dataset.msgAim;
      var tick = function () {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            var text = codes[0].rawValue, m = text.match(/[?&]token=([^&]+)/);
            input.value = decodeURIComponent(m ? m[1] : text);
            stream.getTracks().forEach(function (t) { t.stop(); });
            document.getElementById("check-form").submit();
          } else { requestAnimationFrame(tick); }
        }).catch(function () { requestAnimationFrame(tick); });
      };
      tick();
    }).catch(function () { status.textContent = status.dataset.msgFail; });
  });
})();
