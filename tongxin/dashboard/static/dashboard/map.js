/* The area map (/dashboard/map/): the child areas' outlines coloured by volume or by overdue orders (with a
   legend), click to go one level down, the period's orders as points and as a heat layer. Leaflet comes
   from static/vendor; no tiles unless the operator configured a tile URL. The heat layer is drawn here on
   a canvas (no plug-in): one blurred spot per cell of the server's count grid, coloured by a palette. */
(function () {
  "use strict";
  var PALETTES = {
    accepted: ["#dbeafe", "#93c5fd", "#3b82f6", "#1d4ed8", "#1e3a8a"],
    overdue: ["#fee2e2", "#fca5a5", "#ef4444", "#b91c1c", "#7f1d1d"]
  };
  var EMPTY = "#f1f5f9";

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  function classOf(value, max) {
    if (!value || !max) { return -1; }
    return Math.min(4, Math.floor((value / max) * 5 - 1e-9));
  }

  function colour(metric, value, max) {
    var k = classOf(value, max);
    return k < 0 ? EMPTY : PALETTES[metric][k];
  }

  /* The heat layer: a canvas over the map redrawn after each move or zoom. */
  function heatLayer(L, heat) {
    var Heat = L.Layer.extend({
      onAdd: function (map) {
        this._map = map;
        this._canvas = L.DomUtil.create("canvas", "map-heat leaflet-zoom-hide");
        map.getPanes().overlayPane.appendChild(this._canvas);
        map.on("moveend zoomend resize", this._reset, this);
        this._reset();
      },
      onRemove: function (map) {
        map.off("moveend zoomend resize", this._reset, this);
        L.DomUtil.remove(this._canvas);
      },
      _palette: function () {
        if (this._colours) { return this._colours; }
        var c = document.createElement("canvas");
        c.width = 256; c.height = 1;
        var ctx = c.getContext("2d");
        var g = ctx.createLinearGradient(0, 0, 256, 0);
        g.addColorStop(0.1, "#0ea5e9"); g.addColorStop(0.35, "#22c55e"); g.addColorStop(0.6, "#eab308");
        g.addColorStop(0.8, "#f97316"); g.addColorStop(1, "#dc2626");
        ctx.fillStyle = g; ctx.fillRect(0, 0, 256, 1);
        this._colours = ctx.getImageData(0, 0, 256, 1).data;
        return this._colours;
      },
      _reset: function () {
        var map = this._map, size = map.getSize();
        L.DomUtil.setPosition(this._canvas, map.containerPointToLayerPoint([0, 0]));
        this._canvas.width = size.x; this._canvas.height = size.y;
        this._draw();
      },
      _draw: function () {
        var map = this._map, ctx = this._canvas.getContext("2d");
        if (!heat.cells.length || !heat.max) { return; }
        var c0 = heat.cells[0];
        var a = map.latLngToContainerPoint([c0[0], c0[1]]);
        var b = map.latLngToContainerPoint([c0[0], c0[1] + heat.cell]);
        var radius = Math.max(16, Math.min(80, Math.abs(b.x - a.x) * 2.5));
        ctx.clearRect(0, 0, this._canvas.width, this._canvas.height);
        heat.cells.forEach(function (cell) {
          var p = map.latLngToContainerPoint([cell[0], cell[1]]);
          var g = ctx.createRadialGradient(p.x, p.y, 0, p.x, p.y, radius);
          var weight = Math.max(0.15, Math.log(1 + cell[2]) / Math.log(1 + heat.max));
          g.addColorStop(0, "rgba(0,0,0," + weight + ")"); g.addColorStop(1, "rgba(0,0,0,0)");
          ctx.fillStyle = g;
          ctx.fillRect(p.x - radius, p.y - radius, radius * 2, radius * 2);
        });
        var w = this._canvas.width, h = this._canvas.height;
        if (!w || !h) { return; }
        var image = ctx.getImageData(0, 0, w, h), px = image.data, pal = this._palette();
        for (var i = 0; i < px.length; i += 4) {
          var alpha = px[i + 3];
          if (!alpha) { continue; }
          var j = Math.min(255, alpha) * 4;
          px[i] = pal[j]; px[i + 1] = pal[j + 1]; px[i + 2] = pal[j + 2];
          px[i + 3] = Math.min(210, 60 + alpha);
        }
        ctx.putImageData(image, 0, 0);
      }
    });
    return new Heat();
  }

  function start() {
    var L = window.L, box = document.getElementById("area-map");
    if (!L || !box) { return; }
    var config = readJson("map-config"), words = readJson("map-i18n");
    var status = document.getElementById("map-status");
    var map = L.map(box, { attributionControl: Boolean(config.tiles && config.tiles.url), zoomSnap: 0.25 });
    if (config.tiles && config.tiles.url) {
      L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution || "", maxZoom: 18 }).addTo(map);
    } else {
      box.classList.add("no-tiles");
    }
    var state = { metric: "accepted", data: null, areas: null, legend: null, points: null, heat: null };
    window.tongxinMap = { map: map, state: state };
    var query = "?area=" + encodeURIComponent(config.area) + "&period=" + encodeURIComponent(config.period);

    function byCode() {
      var out = {};
      state.data.children.forEach(function (c) { out[c.code] = c; });
      if (!state.data.children.length) { out[state.data.area.code] = Object.assign({ code: state.data.area.code, name: state.data.area.name, drill: false }, state.data.total); }
      return out;
    }

    function restyle() {
      var rows = byCode(), max = state.data.max[state.metric] || (state.data.children.length ? 0 : state.data.total[state.metric]);
      state.areas.eachLayer(function (layer) {
        var row = rows[layer.feature.properties.code] || {};
        layer.setStyle({ fillColor: colour(state.metric, row[state.metric], max), fillOpacity: state.heatOn ? 0.2 : 0.75 });
        if (layer._path) { layer._path.setAttribute("data-fill", colour(state.metric, row[state.metric], max)); }
      });
      box.setAttribute("data-metric", state.metric);
      drawLegend(max);
    }

    function drawLegend(max) {
      if (state.legend) { map.removeControl(state.legend); }
      var legend = L.control({ position: "bottomright" });
      legend.onAdd = function () {
        var div = L.DomUtil.create("div", "map-legend");
        var title = document.createElement("strong");
        title.textContent = state.metric === "overdue" ? words.legend_overdue : words.legend_accepted;
        div.appendChild(title);
        var items = [[EMPTY, "0"]];
        if (max) {
          var prev = 0;
          for (var k = 0; k < 5; k += 1) {
            var upper = Math.ceil((max * (k + 1)) / 5);
            if (upper > prev) { items.push([PALETTES[state.metric][k], (prev + 1) + (upper > prev + 1 ? "–" + upper : "")]); }
            prev = Math.max(prev, upper);
          }
        }
        items.forEach(function (item) {
          var row = document.createElement("div");
          var swatch = document.createElement("i");
          swatch.style.background = item[0];
          row.appendChild(swatch);
          row.appendChild(document.createTextNode(item[1]));
          div.appendChild(row);
        });
        return div;
      };
      legend.addTo(map);
      state.legend = legend;
    }

    function tooltip(row) {
      var lines = ["<strong>" + escapeHtml(row.name || "") + "</strong>",
        words.accepted + " " + (row.accepted || 0) + " " + words.orders,
        words.overdue + " " + (row.overdue || 0) + " " + words.orders];
      if (row.drill) { lines.push("<span class=\"muted\">" + words.drill + "</span>"); }
      return lines.join("<br>");
    }

    function escapeHtml(text) {
      return String(text).replace(/[&<>"']/g, function (ch) { return "&#" + ch.charCodeAt(0) + ";"; });
    }

    function drawAreas(data) {
      state.data = data;
      var rows = byCode();
      if (data.geo.frame) {
        L.geoJSON(data.geo.frame, { interactive: false, style: { color: "#475569", weight: 2, dashArray: "4 4", fill: false } }).addTo(map);
      }
      state.areas = L.geoJSON(data.geo, {
        style: { color: "#334155", weight: 1, fillOpacity: 0.75 },
        onEachFeature: function (feature, layer) {
          var row = rows[feature.properties.code] || { name: feature.properties.name };
          layer.bindTooltip(tooltip(row), { sticky: true });
          layer.on("add", function () { if (layer._path) { layer._path.setAttribute("data-code", feature.properties.code); } });
          if (row.drill) {
            layer.on("click", function () { window.location.search = "?area=" + encodeURIComponent(row.code) + "&period=" + encodeURIComponent(config.period); });
          }
          layer.on("mouseover", function () { layer.setStyle({ weight: 3 }); highlight(row.code, true); });
          layer.on("mouseout", function () { layer.setStyle({ weight: 1 }); highlight(row.code, false); });
        }
      }).addTo(map);
      var bounds = state.areas.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); }
      else if (data.geo.bbox) { map.fitBounds(data.geo.bbox); }
      else { map.setView([39.6, 109.8], 7); box.classList.add("map-unavailable"); }
      restyle();
    }

    function highlight(code, on) {
      var row = document.querySelector(".map-table tr[data-code='" + code + "']");
      if (row) { row.classList.toggle("hover", on); }
    }

    function drawPoints(data) {
      var group = L.layerGroup();
      data.points.forEach(function (p) {
        var marker = L.circleMarker([p[0], p[1]], { radius: 4, weight: 1, color: p[2] ? "#7f1d1d" : "#1e3a8a",
          fillColor: p[2] ? "#ef4444" : "#3b82f6", fillOpacity: 0.85, className: p[2] ? "map-point late" : "map-point" });
        marker.bindPopup("<a href=\"" + config.order_url.replace("/0/", "/" + p[3] + "/") + "\">" + words.order + " #" + p[3] + "</a>" + (p[2] ? " · " + words.late : ""));
        group.addLayer(marker);
      });
      state.points = group;
      state.heat = heatLayer(L, data.heat);
      if (document.getElementById("layer-points").checked) { group.addTo(map); }
      if (document.getElementById("layer-heat").checked) { state.heatOn = true; state.heat.addTo(map); restyle(); }
      var text = data.total ? words.points + "：" + words.shown + " " + data.shown + " / " + words.total + " " + data.total + " " + words.orders +
        (data.sampled ? "（" + words.sampled + "）" : "") + " · " + words.late + " " + data.overdue : words.none;
      status.textContent = text;
      box.setAttribute("data-points", String(data.shown));
    }

    function failed() { status.textContent = words.failed; status.classList.add("error"); }

    fetch(config.data_url + query, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        drawAreas(data);
        box.setAttribute("data-ready", "areas");
        return fetch(config.points_url + query, { credentials: "same-origin" });
      })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) { drawPoints(data); box.setAttribute("data-ready", "all"); })
      .catch(failed);

    document.querySelectorAll("[data-map-metric]").forEach(function (button) {
      button.addEventListener("click", function () {
        state.metric = button.getAttribute("data-map-metric");
        document.querySelectorAll("[data-map-metric]").forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
        if (state.data) { restyle(); }
      });
    });
    document.getElementById("layer-points").addEventListener("change", function (e) {
      if (!state.points) { return; }
      if (e.target.checked) { state.points.addTo(map); } else { map.removeLayer(state.points); }
    });
    document.getElementById("layer-heat").addEventListener("change", function (e) {
      if (!state.heat) { return; }
      state.heatOn = e.target.checked;
      if (e.target.checked) { state.heat.addTo(map); } else { map.removeLayer(state.heat); }
      if (state.data) { restyle(); }  // the areas fade under the heat, so that both stay readable
    });
    document.addEventListener("change", function (e) {
      if (e.target && e.target.hasAttribute("data-autosubmit")) { e.target.form.submit(); }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
