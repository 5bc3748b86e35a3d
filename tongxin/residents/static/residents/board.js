// The public board: located, anonymised requests as dots on a map without tiles (coloured by status).
(function () {
  "use strict";
  var el = document.getElementById("board-map");
  if (!el || typeof L === "undefined") { return; }
  var colours = { closed: "#1e7d3a", replied: "#c8161d", in_progress: "#0b5cad" };
  var map = L.map(el, { attributionControl: false }).setView([39.7, 109.9], 10);
  fetch(el.getAttribute("data-url"), { credentials: "omit" }).then(function (r) { return r.json(); }).then(function (data) {
    var points = [];
    (data.items || []).forEach(function (item) {
      var dot = L.circleMarker([item.lat, item.lng], { radius: 6, weight: 1, color: "#333",
        fillColor: colours[item.status] || "#d89b00", fillOpacity: 0.85 }).addTo(map);
      var text = document.createElement("span");
      text.textContent = item.category + " · " + item.status_label + " · " + item.accepted_on;
      dot.bindPopup(text);
      points.push([item.lat, item.lng]);
    });
    if (points.length) { map.fitBounds(points, { maxZoom: 15, padding: [20, 20] }); }
  });
})();
