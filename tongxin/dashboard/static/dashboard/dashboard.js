// 城市运行: charts of the normal page and the big screen, drawn with ECharts from static/vendor (no
// network). Data come from the json_script "dash-data"; the map's boundaries from /dashboard/geo/
// (stored GeoJSON, WGS-84). On the screen htmx swaps #screen-body every 60 s: the charts are drawn again.
(function () {
  "use strict";
  var charts = [];
  var geoCache = {};

  function dark() { return document.body.classList.contains("screen"); }
  function go(href) { if (href) { window.location.href = href; } }

  function init(id) {
    var el = document.getElementById(id);
    if (!el || typeof echarts === "undefined") { return null; }
    var existing = echarts.getInstanceByDom(el);
    if (existing) { existing.dispose(); }
    var chart = echarts.init(el, dark() ? "dark" : null, { renderer: "canvas" });
    charts.push(chart);
    return chart;
  }

  // Tooltips are drawn in the canvas (renderMode "richText"): ECharts' HTML tooltips write style="…"
  // attributes into innerHTML, which the Content-Security-Policy refuses (docs/security.md).
  function base() {
    return dark() ? { backgroundColor: "transparent", textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" } } : { textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" } };
  }

  function trend(d) {
    var c = init("trend-chart");
    if (!c) { return; }
    c.setOption(Object.assign(base(), {
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { data: ["受理量", "办结量", "办结率", "满意率"], top: 0 },
      grid: { left: 44, right: 44, top: 30, bottom: 28 },
      xAxis: { type: "category", data: d.days },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [
        { name: "受理量", type: "bar", data: d.accepted, itemStyle: { color: dark() ? "#2f8fff" : "#b4232a" } },
        { name: "办结量", type: "bar", data: d.replied, itemStyle: { color: dark() ? "#35c7a5" : "#7b8794" } },
        { name: "办结率", type: "line", yAxisIndex: 1, data: d.completion_rate, connectNulls: false },
        { name: "满意率", type: "line", yAxisIndex: 1, data: d.satisfaction_rate, connectNulls: false }
      ]
    }));
    c.on("click", function (p) { if (p.seriesIndex === 0) { go(d.hrefs[p.dataIndex]); } });
  }

  function pie(id, rows) {
    var c = init(id);
    if (!c || !rows) { return; }
    c.setOption(Object.assign(base(), {
      tooltip: { trigger: "item", renderMode: "richText", formatter: "{b}：{c}（{d}%）" },
      series: [{ type: "pie", radius: ["38%", "68%"], data: rows, label: { formatter: "{b}\n{c}" } }]
    }));
    c.on("click", function (p) { go(p.data && p.data.href); });
  }

  function bars(id, rows) {
    var c = init(id);
    if (!c || !rows) { return; }
    var r = rows.slice().reverse();
    c.setOption(Object.assign(base(), {
      tooltip: { trigger: "axis", renderMode: "richText", axisPointer: { type: "shadow" } },
      grid: { left: 90, right: 24, top: 8, bottom: 20 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: r.map(function (x) { return x.name; }) },
      series: [{ type: "bar", data: r.map(function (x) { return { value: x.value, href: x.href }; }),
                 itemStyle: { color: dark() ? "#5fd1ff" : "#b4232a" }, label: { show: true, position: "right" } }]
    }));
    c.on("click", function (p) { go(p.data && p.data.href); });
  }

  function gauges(rows) {
    var c = init("gauge-chart");
    if (!c || !rows) { return; }
    c.setOption(Object.assign(base(), {
      series: rows.map(function (g, i) {
        return { type: "gauge", radius: "42%", center: [(12.5 + 25 * i) + "%", "58%"], min: 0, max: 100,
                 progress: { show: true, width: 8 }, axisLine: { lineStyle: { width: 8 } }, axisTick: { show: false },
                 splitLine: { show: false }, axisLabel: { show: false }, pointer: { show: false },
                 title: { offsetCenter: [0, "80%"], fontSize: 12 }, detail: { fontSize: 16, offsetCenter: [0, 0], formatter: function (v) { return g.percent === null ? "—" : v + "%"; } },
                 data: [{ value: g.percent === null ? 0 : g.percent, name: g.label }] };
      })
    }));
  }

  function map(m) {
    var el = document.getElementById("map-chart");
    if (!el || typeof echarts === "undefined") { return; }
    var metric = "accepted";
    var draw = function (geo) {
      var name = "area-" + m.geo;
      if (!echarts.getMap(name)) { echarts.registerMap(name, geo); }
      var c = init("map-chart");
      var values = m.regions.map(function (r) { return { name: r.name, value: r[metric], code: r.code, drill: r.drill, href: r.href }; });
      var max = Math.max.apply(null, values.map(function (v) { return v.value; }).concat([1]));
      c.setOption(Object.assign(base(), {
        tooltip: { trigger: "item", renderMode: "richText", formatter: function (p) { return p.name + "：" + (p.value || 0) + (metric === "overdue" ? " 件超期" : " 件"); } },
        visualMap: { min: 0, max: max, left: 8, bottom: 8, calculable: true, text: ["高", "低"],
                     inRange: { color: metric === "overdue" ? ["#fff1e6", "#ff9a76", "#c0392b"] : (dark() ? ["#0f3b6b", "#2f8fff", "#9fe0ff"] : ["#fde7e4", "#e57368", "#8c1c13"]) } },
        series: [{ type: "map", map: name, roam: true, data: values, label: { show: true, fontSize: 11, color: dark() ? "#eaf2fb" : "#1f2933" },
                   emphasis: { label: { show: true } }, itemStyle: { borderColor: dark() ? "#5fd1ff" : "#fff" } }]
      }));
      c.on("click", function (p) {
        if (!p.data) { return; }
        var url = new URL(window.location.href);
        if (p.data.drill) { url.searchParams.set("area", p.data.code); window.location.href = url.toString(); }
        else { go(p.data.href); }
      });
      document.querySelectorAll("[data-map-metric]").forEach(function (b) {
        b.onclick = function () {
          metric = b.getAttribute("data-map-metric");
          document.querySelectorAll("[data-map-metric]").forEach(function (o) { o.setAttribute("aria-pressed", o === b ? "true" : "false"); });
          draw(geo);
        };
      });
    };
    if (geoCache[m.geo]) { draw(geoCache[m.geo]); return; }
    fetch(m.geo, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (geo) {
      geoCache[m.geo] = geo;
      if (geo.features && geo.features.length) { draw(geo); } else { el.textContent = "暂无边界数据"; }
    }).catch(function () { el.textContent = "地图数据加载失败"; });
  }

  function drawAll() {
    var node = document.getElementById("dash-data");
    if (!node) { return; }
    charts.forEach(function (c) { if (!c.isDisposed()) { c.dispose(); } });
    charts = [];
    var d = JSON.parse(node.textContent);
    trend(d.trend);
    pie("channel-chart", d.channels);
    bars("category-chart", d.categories);
    gauges(d.mediation);
    map(d.map);
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawAll();
    document.body.addEventListener("change", function (e) {
      if (e.target && e.target.hasAttribute("data-autosubmit")) { e.target.form.submit(); }
    });
    document.body.addEventListener("htmx:afterSettle", function (e) {
      if (e.target && e.target.id === "screen-body") { drawAll(); }
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  });
}());
