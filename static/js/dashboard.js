// The dashboard's charts: drawn with the vendored Chart.js from the JSON the page carries
// (json_script, no inline script). Colours: the Okabe-Ito palette, told apart by people
// with colour-blindness too; every chart also has a table under "The charts as tables".
(function () {
  "use strict";
  var COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
  function start() {
    var source = document.getElementById("dashboard-charts-data");
    if (!source || typeof window.Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var Chart = window.Chart;
    Chart.defaults.animation = false;  // readable at once (and in a screenshot)
    var days = data.days;
    function numbers(values) { return values.map(function (v) { return Number(v); }); }
    function draw(id, config) {
      var canvas = document.getElementById(id);
      if (canvas) { new Chart(canvas, config); }
    }
    draw("chart-sales", {
      type: "bar",
      data: {
        labels: days,
        datasets: data.sales_by_store.map(function (store, i) {
          return { label: store.label, data: numbers(store.data), backgroundColor: COLOURS[i % COLOURS.length], stack: "sales" };
        })
      },
      options: { responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
    });
    draw("chart-shipping", {
      type: "bar",
      data: {
        labels: days,
        datasets: [
          { label: data.shipping_labels.charged, data: numbers(data.shipping.charged), backgroundColor: COLOURS[0] },
          { label: data.shipping_labels.labels, data: numbers(data.shipping.labels), backgroundColor: COLOURS[1] },
          { label: data.shipping_labels.margin, data: numbers(data.shipping.margin), type: "line", borderColor: COLOURS[2], backgroundColor: COLOURS[2] }
        ]
      },
      options: { responsive: true, scales: { y: { beginAtZero: true } } }
    });
    draw("chart-posting", {
      type: "bar",
      data: {
        labels: days,
        datasets: [
          { label: data.posting_labels.posted, data: data.posting.posted, backgroundColor: COLOURS[2], stack: "p" },
          { label: data.posting_labels.failed, data: data.posting.failed, backgroundColor: COLOURS[5], stack: "p" },
          { label: data.posting_labels.waiting, data: data.posting.waiting, backgroundColor: COLOURS[4], stack: "p" },
          { label: data.posting_labels.ignored, data: data.posting.ignored, backgroundColor: "#999999", stack: "p" }
        ]
      },
      options: { responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
    });
    draw("chart-skus", {
      type: "bar",
      data: {
        labels: data.top_skus.map(function (s) { return s.sku; }),
        datasets: [{ label: data.top_skus_label, data: data.top_skus.map(function (s) { return Number(s.revenue); }), backgroundColor: COLOURS[0] }]
      },
      options: { indexAxis: "y", responsive: true, plugins: { legend: { display: false } } }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
