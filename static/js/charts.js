// The reporting dashboard's charts: Chart.js (served from our own static files) over the data each
// <canvas data-chart="ID"> names in a <script type="application/json" id="ID"> (Django's json_script).
// Readable without colour: bars get a fill pattern each, lines a dash pattern and point style each, every
// series is named in the legend, and a data table with every value is one click away.
(function () {
  "use strict";

  // Okabe–Ito: distinguishable with the common colour-vision deficiencies.
  const COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];
  const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3], [1, 5]];
  const POINTS = ["circle", "triangle", "rect", "rectRot", "star", "crossRot"];
  const PATTERNS = ["solid", "diagonal", "dots", "cross", "horizontal", "vertical"];

  function pattern(kind, colour) {
    if (kind === "solid") return colour;
    const size = 8;
    const tile = document.createElement("canvas");
    tile.width = tile.height = size;
    const ctx = tile.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, size, size);
    ctx.strokeStyle = ctx.fillStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    if (kind === "diagonal") { ctx.moveTo(0, size); ctx.lineTo(size, 0); ctx.moveTo(-2, 2); ctx.lineTo(2, -2); ctx.moveTo(size - 2, size + 2); ctx.lineTo(size + 2, size - 2); }
    if (kind === "cross") { ctx.moveTo(0, 0); ctx.lineTo(size, size); ctx.moveTo(0, size); ctx.lineTo(size, 0); }
    if (kind === "horizontal") { ctx.moveTo(0, size / 2); ctx.lineTo(size, size / 2); }
    if (kind === "vertical") { ctx.moveTo(size / 2, 0); ctx.lineTo(size / 2, size); }
    ctx.stroke();
    if (kind === "dots") { ctx.beginPath(); ctx.arc(size / 2, size / 2, 2, 0, 2 * Math.PI); ctx.fill(); }
    return ctx.createPattern(tile, "repeat");
  }

  function dataset(data, series, index) {
    const colour = COLOURS[index % COLOURS.length];
    const many = data.labels.length > 60;
    if (data.kind === "line") {
      return {
        label: series.label, data: series.values, borderColor: colour, backgroundColor: colour,
        borderDash: DASHES[index % DASHES.length], pointStyle: POINTS[index % POINTS.length],
        pointRadius: many ? 0 : 3, borderWidth: 2, tension: 0,
      };
    }
    return {
      label: series.label, data: series.values, borderColor: colour, borderWidth: 1,
      backgroundColor: pattern(PATTERNS[index % PATTERNS.length], colour),
    };
  }

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const valueAxis = data.horizontal ? "x" : "y";
    const categoryAxis = data.horizontal ? "y" : "x";
    const scales = {};
    scales[categoryAxis] = { stacked: data.stacked, title: { display: true, text: data.xTitle }, ticks: { autoSkip: true, maxRotation: 60 } };
    scales[valueAxis] = { stacked: data.stacked, beginAtZero: true, title: { display: true, text: data.yTitle }, ticks: { precision: 0 } };
    new Chart(canvas, {
      type: data.kind,
      data: { labels: data.labels, datasets: data.series.map((series, index) => dataset(data, series, index)) },
      options: {
        indexAxis: data.horizontal ? "y" : "x",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: {
          legend: { position: "bottom", labels: { usePointStyle: data.kind === "line", boxWidth: 28 } },
          tooltip: { enabled: true },
        },
      },
    });
    canvas.dataset.drawn = "true";
  }

  // The data table, built the first time its <details> opens (an hourly series can be hundreds of rows).
  function fillTable(details) {
    const holder = details.querySelector("[data-table-for]");
    if (!holder || holder.childElementCount) return;
    const data = JSON.parse(document.getElementById(holder.dataset.tableFor).textContent);
    const table = document.createElement("table");
    table.className = "table table-sm table-striped mb-0";
    const head = table.createTHead().insertRow();
    [data.xTitle].concat(data.series.map((s) => s.label)).forEach((text, i) => {
      const th = document.createElement("th");
      th.textContent = text;
      if (i) th.className = "text-end";
      head.appendChild(th);
    });
    const body = table.createTBody();
    data.labels.forEach((label, row) => {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.scope = "row";
      th.className = "fw-normal";
      th.textContent = label;
      tr.appendChild(th);
      data.series.forEach((s) => {
        const td = tr.insertCell();
        td.className = "text-end";
        td.textContent = s.values[row].toLocaleString();
      });
    });
    holder.appendChild(table);
  }

  function start() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
    document.querySelectorAll("details[data-chart-table]").forEach((details) => {
      details.addEventListener("toggle", () => { if (details.open) fillTable(details); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
