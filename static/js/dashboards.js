// Renders the dashboards' charts with ECharts (from npm). Each element with data-dash-chart names a
// json_script payload: {kind: "axis", x, series: [{name, type, data, stack, right}]} or
// {kind: "funnel" | "pie", names, values}. The table beside each chart holds the same numbers.
(function () {
  var PALETTE = ["#0d6efd", "#20c997", "#fd7e14", "#6f42c1", "#dc3545", "#198754", "#0dcaf0", "#ffc107"];

  // An axis that only carries counts (no money, whole numbers) ticks in whole steps: no "2.5 customers".
  function countsOnly(series) {
    return series.length > 0 && series.every(function (s) {
      return !s.money && s.data.every(function (v) { return v === null || Number.isInteger(v); });
    });
  }

  function valueAxis(series, extra) {
    var axis = Object.assign({ type: "value" }, extra || {});
    if (countsOnly(series)) { axis.minInterval = 1; }
    return axis;
  }

  function axisOption(data) {
    var right = data.series.some(function (s) { return s.right; });
    var yAxis = [valueAxis(data.series.filter(function (s) { return !s.right; }))];
    if (right) {
      yAxis.push(valueAxis(data.series.filter(function (s) { return s.right; }), { splitLine: { show: false } }));
    }
    return {
      color: PALETTE,
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 56, right: right ? 56 : 16, top: 36, bottom: 40, containLabel: false },
      xAxis: { type: "category", data: data.x, axisLabel: { rotate: data.x.length > 8 ? 30 : 0 } },
      yAxis: yAxis,
      series: data.series.map(function (s) {
        return {
          name: s.name, type: s.type, data: s.data, stack: s.stack || undefined,
          yAxisIndex: s.right ? 1 : 0, smooth: s.type === "line", barMaxWidth: 36
        };
      })
    };
  }

  function sharesOption(data) {
    var items = data.names.map(function (name, i) { return { name: name, value: data.values[i] }; });
    if (data.kind === "funnel") {
      return {
        color: PALETTE,
        tooltip: { trigger: "item" },
        series: [{ type: "funnel", sort: "none", left: "10%", width: "80%", top: 8, bottom: 8, minSize: "8%",
                   label: { show: true, position: "inside", formatter: "{b}: {c}" }, data: items }]
      };
    }
    return { color: PALETTE, tooltip: { trigger: "item" }, series: [{ type: "pie", radius: ["35%", "70%"], data: items }] };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var charts = [];
    document.querySelectorAll("[data-dash-chart]").forEach(function (el) {
      var data = JSON.parse(document.getElementById(el.dataset.dashChart).textContent);
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(data.kind === "axis" ? axisOption(data) : sharesOption(data));
      charts.push(chart);
    });
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    function resize() { charts.forEach(function (c) { c.resize(); }); }
    window.addEventListener("resize", resize);
    window.addEventListener("beforeprint", resize);
  });
})();
