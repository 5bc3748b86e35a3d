// 随手拍: keep the draft on the phone until the server confirms it; the point from the phone or the map;
// the category suggestion chips. No inline script: this file only (CSP-friendly).
(function () {
  "use strict";
  var FIELDS = ["content", "kind", "lat", "lng", "point_source", "category_code", "category_suggested"];

  // After a confirmed submission the detail page names the draft to forget.
  var clearKey = document.body.getAttribute("data-draft-clear");
  if (clearKey) {
    try { localStorage.removeItem(clearKey); } catch (e) { /* private mode */ }
  }

  var form = document.getElementById("report-form");
  if (!form) { return; }
  var key = form.getAttribute("data-draft-key");
  var posted = form.hasAttribute("data-posted");
  var status = document.getElementById("draft-status");
  var pointStatus = document.getElementById("point-status");
  function field(name) { return form.elements.namedItem(name); }

  function save() {
    var draft = { saved: Date.now() };
    FIELDS.forEach(function (name) { var el = field(name); if (el) { draft[name] = el.value; } });
    var label = document.getElementById("category-chosen");
    draft.category_label = label ? label.textContent.trim() : "";
    try {
      localStorage.setItem(key, JSON.stringify(draft));
      if (status) { status.textContent = "草稿已保存在本机，提交成功后自动清除"; }
    } catch (e) { /* storage full or disabled: the form still works */ }
  }

  function restore() {
    var raw = null;
    try { raw = localStorage.getItem(key); } catch (e) { return; }
    if (!raw) { return; }
    var draft;
    try { draft = JSON.parse(raw); } catch (e) { return; }
    var restored = false;
    FIELDS.forEach(function (name) {
      var el = field(name);
      // What the server sent back (a rejected form) wins over the stored draft.
      if (el && draft[name] && (!posted || !el.value) && el.value !== draft[name]) { el.value = draft[name]; restored = true; }
    });
    if (draft.category_code && draft.category_label && field("category_code").value === draft.category_code) {
      setCategory(draft.category_code, draft.category_label, false);
    }
    if (field("lat").value) { pointStatus.textContent = "已选择位置（" + sourceLabel(field("point_source").value) + "）"; }
    if (restored && status) { status.textContent = "已恢复上次未提交的草稿（照片需重新选择）"; }
  }

  function sourceLabel(source) { return source === "map" ? "地图选点" : "手机定位"; }

  function setCategory(code, label, store) {
    field("category_code").value = code;
    if (store !== false) { field("category_suggested").value = code; }
    var chosen = document.getElementById("category-chosen");
    chosen.textContent = "";
    var tag = document.createElement("span");
    tag.className = "r-tag";
    tag.textContent = label;
    chosen.appendChild(tag);
    if (store !== false) { save(); }
  }

  function setPoint(lat, lng, source) {
    field("lat").value = lat.toFixed(7);
    field("lng").value = lng.toFixed(7);
    field("point_source").value = source;
    pointStatus.textContent = "已选择位置（" + sourceLabel(source) + "）";
    if (marker) { marker.setLatLng([lat, lng]); } else if (map) { marker = L.marker([lat, lng]).addTo(map); }
    save();
  }

  form.addEventListener("input", save);
  form.addEventListener("change", function (event) {
    if (event.target && event.target.name === "photos") {
      var files = event.target.files || [];
      var max = parseInt(form.getAttribute("data-max-photos"), 10);
      var maxBytes = parseInt(form.getAttribute("data-max-mb"), 10) * 1024 * 1024;
      var hint = document.getElementById("photo-hint");
      var tooBig = Array.prototype.some.call(files, function (f) { return f.size > maxBytes; });
      if (files.length > max) { hint.textContent = "最多选择 " + max + " 张照片"; }
      else if (tooBig) { hint.textContent = "有照片超过 " + form.getAttribute("data-max-mb") + " MB，请换一张"; }
      else { hint.textContent = "已选择 " + files.length + " 张照片"; }
      return;
    }
    save();
  });
  document.addEventListener("click", function (event) {
    var chip = event.target.closest && event.target.closest("[data-category-code]");
    if (chip) { setCategory(chip.getAttribute("data-category-code"), chip.getAttribute("data-category-label")); }
  });
  form.addEventListener("submit", function () {
    save();  // the draft stays until the confirmation page clears it
    var button = document.getElementById("submit-report");
    if (button) { button.textContent = "正在提交…"; }
  });

  // The point: the phone's position (WGS-84 from the browser), or a tap on the map.
  var map = null, marker = null;
  var locate = document.getElementById("locate");
  if (navigator.geolocation && locate) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      pointStatus.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        setPoint(pos.coords.latitude, pos.coords.longitude, "device");
        if (map) { map.setView([pos.coords.latitude, pos.coords.longitude], 16); }
      }, function () { pointStatus.textContent = "无法获取手机定位，请在地图上点选位置"; },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
    });
  }

  restore();

  var mapEl = document.getElementById("report-map");
  function startMap() {
    if (!mapEl || typeof L === "undefined") { return; }
    var data = {};
    try { data = JSON.parse(mapEl.getAttribute("data-map") || "{}"); } catch (e) { data = {}; }
    mapEl.hidden = false;
    map = L.map(mapEl, { zoomControl: true, attributionControl: false });
    var shown = false;
    if (data.boundary) {
      var outline = L.geoJSON(data.boundary, { style: { color: "#c8161d", weight: 2, fillOpacity: 0.05 } }).addTo(map);
      map.fitBounds(outline.getBounds());
      shown = true;
    }
    if (!shown) { map.setView(data.center || [39.81, 109.98], 14); }
    if (field("lat").value) {
      marker = L.marker([parseFloat(field("lat").value), parseFloat(field("lng").value)]).addTo(map);
    }
    map.on("click", function (e) { setPoint(e.latlng.lat, e.latlng.lng, "map"); });
  }
  if (document.readyState === "complete") { startMap(); } else { window.addEventListener("load", startMap); }
})();
