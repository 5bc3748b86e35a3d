// 我的数据: this month's daily volume as a bar chart (ECharts from static/vendor; no network).
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("volume-chart"), data = document.getElementById("volume-data");
  if (!el || !data || typeof echarts === "undefined") { return; }
  var d = JSON.parse(data.textContent);
  var chart = echarts.init(el);
  chart.setOption({
    grid: { left: 40, right: 16, top: 16, bottom: 40 },
    // In the canvas: ECharts' HTML tooltip writes style="…" attributes, which the CSP refuses.
    tooltip: { trigger: "axis", renderMode: "richText" },
    xAxis: { type: "category", data: d.days },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", name: d.title, data: d.counts, itemStyle: { color: "#b4232a" } }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
