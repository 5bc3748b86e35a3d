// The public board: located, anonymised requests as dots on a map without tiles (coloured by status),
// drawn over the district outlines (旗/区, simplified) so a reader can tell where a dot is.
(function () {
  "use strict";
  var el = document.getElementById("board-map");
  if (!el || typeof L === "undefined") { return; }
  var colours = { closed: "#1e7d3a", replied: "#c8161d", in_progress: "#0b5cad" };
  var map = L.map(el, { attributionControl: false }).setView([39.7, 109.9], 8);
  // The outlines live in their own pane below the markers: points are always on top and clickable.
  map.createPane("outlines");
  map.getPane("outlines").style.zIndex = 350;
  var outlineLayer = null;
  var points = [];

  // Frame the points together with the whole districts they lie in, so the reader sees the borders
  // around them; with no points, the whole city.
  function frame() {
    var bounds = points.length ? L.latLngBounds(points) : null;
    if (outlineLayer) {
      outlineLayer.eachLayer(function (district) {
        var box = district.getBounds();
        if (!bounds || points.some(function (p) { return box.contains(p); })) {
          bounds = bounds ? bounds.extend(box) : L.latLngBounds(box.getSouthWest(), box.getNorthEast());
        }
      });
    }
    if (bounds && bounds.isValid()) { map.fitBounds(bounds, { maxZoom: 15, padding: [16, 16] }); }
  }

  function json(url) {
    return fetch(url, { credentials: "omit" }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    });
  }

  var outlinesUrl = el.getAttribute("data-outlines");
  var outlines = outlinesUrl ? json(outlinesUrl).then(function (data) {
    var layer = L.geoJSON(data, {
      pane: "outlines", interactive: false,
      style: function () { return { color: "#5b6675", weight: 1.5, opacity: 0.9, fill: true, fillColor: "#dfe4ea", fillOpacity: 0.35 }; },
      onEachFeature: function (feature, lyr) {
        if (feature.properties && feature.properties.name) {
          lyr.bindTooltip(feature.properties.name, { permanent: true, direction: "center", className: "r-map-label" });
        }
      }
    }).addTo(map);
    outlineLayer = layer;
  }).catch(function () { /* the points still show without outlines */ }) : Promise.resolve();

  var items = json(el.getAttribute("data-url")).then(function (data) {
    (data.items || []).forEach(function (item) {
      var dot = L.circleMarker([item.lat, item.lng], { radius: 6, weight: 1, color: "#333",
        fillColor: colours[item.status] || "#d89b00", fillOpacity: 0.85 }).addTo(map);
      var text = document.createElement("span");
      text.textContent = item.category + " · " + item.status_label + " · " + item.accepted_on;
      dot.bindPopup(text);
      points.push([item.lat, item.lng]);
    });
  });
  Promise.all([outlines, items]).then(frame, frame);
})();
