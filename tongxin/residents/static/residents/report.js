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

  function sourceLabel(source) { return { map: "地图选点", exif: "照片位置" }[source] || "手机定位"; }

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

  // Photos: read the EXIF GPS point here (the phone's own record of where it was taken), and shrink large
  // photos before they travel (a 4 MB photo becomes ~0.4 MB: what a poor connection needs). The server
  // checks and re-encodes whatever arrives, so this is only a courtesy to the network.
  var MAX_SIDE = 2000, SHRINK_BYTES = 1536 * 1024;
  var busy = 0;

  function exifGps(buffer) {
    var view = new DataView(buffer), offset = 2;
    if (view.byteLength < 4 || view.getUint16(0) !== 0xFFD8) { return null; }
    while (offset + 4 < view.byteLength) {
      var marker = view.getUint16(offset), size = view.getUint16(offset + 2);
      if (marker === 0xFFE1 && view.getUint32(offset + 4) === 0x45786966) { return tiffGps(view, offset + 10); }
      if ((marker & 0xFF00) !== 0xFF00) { return null; }
      offset += 2 + size;
    }
    return null;
  }

  function tiffGps(view, start) {
    var little = view.getUint16(start) === 0x4949;
    function u16(at) { return view.getUint16(start + at, little); }
    function u32(at) { return view.getUint32(start + at, little); }
    function entries(ifd) {
      var out = {}, count = u16(ifd);
      for (var i = 0; i < count; i++) {
        var at = ifd + 2 + i * 12;
        out[u16(at)] = { type: u16(at + 2), count: u32(at + 4), at: at + 8 };
      }
      return out;
    }
    function rationals(entry) {
      var base = u32(entry.at), values = [];
      for (var i = 0; i < entry.count; i++) {
        var den = u32(base + i * 8 + 4);
        values.push(den ? u32(base + i * 8) / den : 0);
      }
      return values;
    }
    function ref(entry) { return String.fromCharCode(view.getUint8(start + entry.at)); }
    try {
      var ifd0 = entries(u32(4));
      if (!ifd0[0x8825]) { return null; }
      var gps = entries(u32(ifd0[0x8825].at));
      if (!gps[2] || !gps[4]) { return null; }
      var la = rationals(gps[2]), lo = rationals(gps[4]);
      var lat = la[0] + la[1] / 60 + la[2] / 3600, lng = lo[0] + lo[1] / 60 + lo[2] / 3600;
      if (gps[1] && ref(gps[1]) === "S") { lat = -lat; }
      if (gps[3] && ref(gps[3]) === "W") { lng = -lng; }
      if (!(lat || lng) || Math.abs(lat) > 90 || Math.abs(lng) > 180) { return null; }
      return { lat: lat, lng: lng };
    } catch (e) { return null; }
  }

  function shrink(file) {
    if (!window.createImageBitmap || !/^image\/(jpeg|png|webp)$/.test(file.type)) { return Promise.resolve(file); }
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var side = Math.max(bitmap.width, bitmap.height);
      if (side <= MAX_SIDE && file.size <= SHRINK_BYTES) { return file; }
      var scale = Math.min(1, MAX_SIDE / side);
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve(blob && blob.size < file.size ? new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg",
            { type: "image/jpeg" }) : file);
        }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });
  }

  function photosChosen(input) {
    var files = Array.prototype.slice.call(input.files || []);
    var max = parseInt(form.getAttribute("data-max-photos"), 10);
    var maxBytes = parseInt(form.getAttribute("data-max-mb"), 10) * 1024 * 1024;
    var hint = document.getElementById("photo-hint");
    if (files.length > max) { hint.textContent = "最多选择 " + max + " 张照片"; return; }
    if (files.some(function (f) { return f.size > maxBytes * 4; })) {
      hint.textContent = "有照片过大，请换一张"; return;
    }
    var button = document.getElementById("submit-report");
    busy += 1;
    button.disabled = true;
    hint.textContent = "正在处理照片…";
    var located = !!field("lat").value;
    Promise.all(files.map(function (file) {
      var gps = file.type === "image/jpeg" && !located
        ? file.slice(0, 256 * 1024).arrayBuffer().then(exifGps).catch(function () { return null; })
        : Promise.resolve(null);
      return Promise.all([shrink(file), gps]);
    })).then(function (results) {
      var shrunk = 0, bytes = 0;
      var transfer = window.DataTransfer ? new DataTransfer() : null;
      results.forEach(function (pair, i) {
        if (pair[0] !== files[i]) { shrunk += 1; }
        bytes += pair[0].size;
        if (transfer) { transfer.items.add(pair[0]); }
        if (pair[1] && !field("lat").value) { setPoint(pair[1].lat, pair[1].lng, "exif"); }
      });
      if (transfer && shrunk) { input.files = transfer.files; }
      hint.textContent = "已选择 " + files.length + " 张照片（共 " + (bytes / 1048576).toFixed(1) + " MB）" +
        (shrunk && transfer ? "，已为您压缩 " + shrunk + " 张" : "");
    }).finally(function () {
      busy -= 1;
      if (!busy) { button.disabled = false; }
    });
  }

  form.addEventListener("input", save);
  form.addEventListener("change", function (event) {
    if (event.target && event.target.name === "photos") { photosChosen(event.target); return; }
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
