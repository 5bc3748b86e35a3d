/* The intake console's behaviour: category choice, the assist panel, the area picker, the map,
   merge and knowledge-base buttons, Ctrl+Enter. No inline script: CSP-friendly. */
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var categoryChosenByHand = !!$("id_category_code").value;
  var timer = null;

  function askAssist() {
    clearTimeout(timer);
    timer = setTimeout(function () { if (window.htmx) { window.htmx.trigger("#assist", "assist"); } }, 700);
  }

  function setCategory(code, label, byHand) {
    $("id_category_code").value = code;
    var chosen = $("category-chosen");
    chosen.textContent = "";
    var tag = document.createElement("span");
    tag.className = "tag tag-green";
    tag.textContent = label;
    chosen.appendChild(tag);
    if (byHand) { categoryChosenByHand = true; $("category-hits").textContent = ""; }
  }

  form.addEventListener("input", function (event) {
    if (event.target.closest("[data-no-assist]")) { return; }
    askAssist();
  });
  form.addEventListener("change", function (event) {
    if (event.target.id === "id_citizen_phone") { askAssist(); }
  });

  document.addEventListener("click", function (event) {
    var hit = event.target.closest("[data-category-code]");
    if (hit) {
      event.preventDefault();
      setCategory(hit.getAttribute("data-category-code"), hit.getAttribute("data-category-label"), true);
      askAssist();
      $("id_address").focus();
      return;
    }
    var merge = event.target.closest("[data-merge-into]");
    if (merge) {
      $("id_merge_into").value = merge.getAttribute("data-merge-into");
      var button = $("merge-button");
      button.hidden = false;
      button.textContent = button.textContent.replace(/[:：].*$/, "") + "：" + merge.getAttribute("data-merge-number");
      button.focus();
      return;
    }
    var knowledge = event.target.closest("[data-knowledge-id]");
    if (knowledge) {
      $("id_knowledge_article_id").value = knowledge.getAttribute("data-knowledge-id");
      $("id_resolve_text").value = knowledge.getAttribute("data-knowledge-answer");
      form.querySelector(".resolve-box").open = true;
      $("id_resolve_text").focus();
    }
  });

  /* Enter in the category search picks the first hit instead of submitting the form. */
  $("id_category_q").addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      var first = document.querySelector("#category-hits [data-category-code]");
      if (first) { first.click(); }
    } else if (event.key === "ArrowDown") {
      var firstHit = document.querySelector("#category-hits [data-category-code]");
      if (firstHit) { event.preventDefault(); firstHit.focus(); }
    }
  });
  $("category-hits").addEventListener("keydown", function (event) {
    var item = event.target.closest("[data-category-code]");
    if (!item) { return; }
    if (event.key === "ArrowDown" && item.nextElementSibling) { event.preventDefault(); item.nextElementSibling.focus(); }
    if (event.key === "ArrowUp") {
      event.preventDefault();
      (item.previousElementSibling || $("id_category_q")).focus();
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var result = $("classify-result");
    if (event.detail.target.id === "assist" && result && !categoryChosenByHand && !$("id_category_code").value) {
      var code = result.getAttribute("data-preselect-code");
      if (code) { setCategory(code, result.getAttribute("data-preselect-label") + "（智能预选）", false); }
    }
  });

  /* Area picker: the deepest chosen level is the order's area. */
  ["area-district", "area-town", "area-community"].forEach(function (id) {
    $(id).addEventListener("change", function () {
      var code = $("area-community").value || $("area-town").value || $("area-district").value;
      if (id === "area-district") {
        var community = $("area-community");
        while (community.options.length > 1) { community.remove(1); }
        community.selectedIndex = 0;
      }
      $("id_area_code").value = code;
      var select = $(id);
      $("area-chosen").textContent = select.value ? select.options[select.selectedIndex].text : "";
      askAssist();
    });
  });

  /* Ctrl+Enter saves and goes on to dispatch. */
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("save-button").click();
    }
  });

  /* The map: district boundaries (WGS-84) on a blank background; a click sets the point. */
  var mapBox = $("intake-map");
  function startMap() {
    if (!window.L || !mapBox) { return; }
    var map = window.L.map(mapBox, { attributionControl: false, zoomSnap: 0.25 });
    var marker = null;
    function place(lat, lng) {
      if (marker) { marker.setLatLng([lat, lng]); } else { marker = window.L.circleMarker([lat, lng], { radius: 7, color: "#c0392b" }).addTo(map); }
      $("id_lat").value = lat.toFixed(6);
      $("id_lng").value = lng.toFixed(6);
      $("point-label").textContent = "坐标（WGS-84）" + lng.toFixed(6) + ", " + lat.toFixed(6);
    }
    map.setView([39.6, 109.8], 7);
    /* The grids of the district clicked: drawn once per district, so the operator sees which grid a
       point falls in (the server decides: the order is placed in the deepest area holding the point). */
    var gridLayers = {};
    var districts = null;
    function showGrids(districtCode) {
      if (!districtCode || gridLayers[districtCode]) { return; }
      gridLayers[districtCode] = true;
      var url = "/api/v1/areas?parent=" + encodeURIComponent(districtCode) + "&level=grid&boundary=1";
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (grids) {
          var features = grids.filter(function (a) { return a.boundary; }).map(function (a) {
            return { type: "Feature", properties: { name: a.name, code: a.code }, geometry: a.boundary.geometry || a.boundary };
          });
          if (!features.length) { return; }
          var grid = window.L.geoJSON({ type: "FeatureCollection", features: features }, {
            style: { color: "#2da44e", weight: 0.6, fillOpacity: 0.02 },
            onEachFeature: function (f, l) { l.bindTooltip(f.properties.name, { sticky: true }); }
          }).addTo(map);
          grid.on("click", function (e) { place(e.latlng.lat, e.latlng.lng); askAssist(); });
          mapBox.setAttribute("data-grids", String(features.length + (parseInt(mapBox.getAttribute("data-grids") || "0", 10))));
        });
    }
    fetch(mapBox.getAttribute("data-areas-url"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (areas) {
        var features = areas.filter(function (a) { return a.boundary; }).map(function (a) {
          return { type: "Feature", properties: { name: a.name, code: a.code }, geometry: a.boundary.geometry || a.boundary };
        });
        if (!features.length) { return; }
        var layer = districts = window.L.geoJSON({ type: "FeatureCollection", features: features }, {
          style: { color: "#1f6feb", weight: 1, fillOpacity: 0.06 },
          onEachFeature: function (f, l) { l.bindTooltip(f.properties.name, { sticky: true }); }
        }).addTo(map);
        layer.on("click", function (e) {
          place(e.latlng.lat, e.latlng.lng);
          askAssist();
          showGrids(e.layer && e.layer.feature ? e.layer.feature.properties.code : null);
        });
        map.fitBounds(layer.getBounds());
        var lat = parseFloat($("id_lat").value), lng = parseFloat($("id_lng").value);
        if (!isNaN(lat) && !isNaN(lng)) { place(lat, lng); }
      })
      .catch(function () { mapBox.classList.add("map-unavailable"); });
    map.on("click", function (e) {
      place(e.latlng.lat, e.latlng.lng);
      askAssist();
      /* A click that the outline itself did not catch: the grids of every district whose box holds it. */
      if (districts) {
        districts.eachLayer(function (l) {
          if (l.feature && l.getBounds().contains(e.latlng)) { showGrids(l.feature.properties.code); }
        });
      }
    });
  }
  if (window.L) { startMap(); } else { window.addEventListener("load", startMap); }
})();
