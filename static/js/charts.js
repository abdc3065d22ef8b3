// Renders every element with data-chart="bar" from its JSON payload using ECharts (from npm).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var data = JSON.parse(document.getElementById(el.dataset.source).textContent);
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: {},
      grid: { left: 40, right: 16, top: 16, bottom: 40 },
      xAxis: { type: "category", data: data.names, axisLabel: { interval: 0, rotate: data.names.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: el.dataset.chart, data: data.values, itemStyle: { color: "#0d6efd" } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
});
