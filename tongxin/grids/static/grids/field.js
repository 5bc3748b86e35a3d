/* The field pages' script: browser geolocation into the forms (WGS-84, as the Geolocation API answers),
   the grid boundary and the patrol route drawn as vectors with Leaflet (no tiles: works offline),
   photos scaled down on the phone before upload (a poor connection sends ~300 KB, not 5 MB), and the
   category suggestion chips. Everything degrades: without it the forms still post. */
(function () {
  "use strict";

  function locate(box, fresh) {
    var status = box.querySelector("[data-locate-status]");
    var set = function (name, value) { var el = box.querySelector("input[name=" + name + "]"); if (el) el.value = value; };
    var form = box.closest("form");
    if (!navigator.geolocation) { status.textContent = box.dataset.msgNone; return; }
    status.textContent = box.dataset.msgWait;
    if (form) form.dataset.locating = "1";
    navigator.geolocation.getCurrentPosition(function (pos) {
      set("lat", pos.coords.latitude.toFixed(7));
      set("lng", pos.coords.longitude.toFixed(7));
      set("accuracy", Math.round(pos.coords.accuracy || 0));
      set("datum", "wgs84");
      status.textContent = box.dataset.msgOk.replace("%s", Math.round(pos.coords.accuracy || 0));
      box.dataset.located = "1";
      if (form) delete form.dataset.locating;
    }, function (err) {
      status.textContent = err.code === 1 ? box.dataset.msgDenied : box.dataset.msgFail;
      if (form) delete form.dataset.locating;
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: fresh ? 0 : 10000 });
  }

  function drawMap() {
    var el = document.getElementById("g-map"), data = document.getElementById("g-map-data");
    if (!el || !data || !window.L) return;
    var d = JSON.parse(data.textContent);
    var map = L.map(el, { attributionControl: false, zoomSnap: 0.25 });
    // Layers are built first and added once the map has a view: Leaflet's renderer needs one.
    var layers = [];
    if (d.boundary) layers.push(L.geoJSON(d.boundary, { style: { color: "#0b5cad", weight: 2, fillOpacity: 0.06 } }));
    var pts = (d.route || []).map(function (p) { return [p.lat, p.lng]; });
    if (pts.length > 1) layers.push(L.polyline(pts, { color: "#e67e22", weight: 4 }));
    (d.route || []).forEach(function (p, i) {
      layers.push(L.circleMarker([p.lat, p.lng], {
        radius: i === pts.length - 1 ? 7 : 5, color: p.inside ? "#e67e22" : "#b03a2e", fillOpacity: 0.9
      }).bindTooltip(p.at));
    });
    var group = L.featureGroup(layers);
    // Frame the route when there is one (a grid can be kilometres wide), else the grid.
    if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.3), { maxZoom: 17 });
    else if (layers.length) map.fitBounds(group.getBounds().pad(0.15));
    else map.setView([39.6, 109.8], 10);
    group.addTo(map);
    el.dataset.drawn = String(pts.length);
  }

  function shrink(input) {
    // Re-draw the picked photo at most 1600 px on its longer side, as JPEG, and put it back in the input.
    var file = input.files && input.files[0];
    if (!file || !/^image\//.test(file.type) || !window.DataTransfer || !window.createImageBitmap) return;
    var form = input.form;
    form.dataset.busy = "1";
    createImageBitmap(file).then(function (bitmap) {
      var side = 1600, scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.size < 1024 * 1024) { delete form.dataset.busy; return; }
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale); canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        if (blob && blob.size < file.size) {
          var dt = new DataTransfer();
          dt.items.add(new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }));
          input.files = dt.files;
        }
        delete form.dataset.busy;
      }, "image/jpeg", 0.82);
    }).catch(function () { delete form.dataset.busy; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-locate]").forEach(function (box) {
      locate(box);
      var again = box.querySelector("[data-locate-again]");
      if (again) again.addEventListener("click", function () { delete box.dataset.located; locate(box, true); });
    });
    document.querySelectorAll("input[type=file][accept^=image]").forEach(function (input) {
      input.addEventListener("change", function () { shrink(input); });
    });
    document.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        // Wait (briefly) for the location and the photo: submitting without them is the worse outcome.
        if ((form.dataset.locating || form.dataset.busy) && !form.dataset.waited) {
          e.preventDefault();
          form.dataset.waited = "1";
          var tries = 0, timer = setInterval(function () {
            if ((!form.dataset.locating && !form.dataset.busy) || ++tries > 40) { clearInterval(timer); form.requestSubmit ? form.requestSubmit() : form.submit(); }
          }, 250);
        }
      });
    });
    document.addEventListener("click", function (e) {
      var chip = e.target.closest && e.target.closest("[data-category-code]");
      if (!chip) return;
      var form = chip.closest("form");
      form.querySelector("input[name=category_code]").value = chip.dataset.categoryCode;
      form.querySelector("input[name=category_suggested]").value = chip.dataset.categoryCode;
      form.querySelectorAll("[data-category-code]").forEach(function (c) { c.setAttribute("aria-pressed", c === chip ? "true" : "false"); });
    });
    drawMap();
  });
})();
