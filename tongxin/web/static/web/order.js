/* The order page: the map of the order's point and area (no tiles), and the reveal button's clean-up. */
(function () {
  "use strict";
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "citizen-value") {
      var button = document.getElementById("reveal-button");
      if (button) { button.remove(); }
    }
  });
  var box = document.getElementById("order-map");
  var dataNode = document.getElementById("order-map-data");
  function start() {
    if (!box || !dataNode || !window.L) { return; }
    var data = JSON.parse(dataNode.textContent);
    var map = window.L.map(box, { attributionControl: false });
    var bounds = null, layers = [];
    // Layers are added once the map has a view: added before, Leaflet's renderer has no bounds yet and
    // the area's outline throws (_clipPoints of undefined).
    if (data.boundary) {
      var shape = data.boundary.geometry || data.boundary;
      var layer = window.L.geoJSON(shape, { style: { color: "#1f6feb", weight: 1, fillOpacity: 0.08 } });
      layers.push(layer);
      bounds = layer.getBounds();
    }
    if (data.point) {
      layers.push(window.L.circleMarker(data.point, { radius: 8, color: "#c0392b", fillOpacity: 0.8 }));
      map.setView(data.point, bounds ? Math.min(map.getBoundsZoom(bounds), 15) : 14);
    } else if (bounds) {
      map.fitBounds(bounds);
    } else {
      box.classList.add("map-unavailable");
      map.setView([39.6, 109.8], 7);
    }
    layers.forEach(function (l) { l.addTo(map); });
    box.dataset.drawn = String(layers.length);
  }
  if (window.L) { start(); } else { window.addEventListener("load", start); }
})();
