// Account intelligence: the value matrix, a Chart.js scatter of accounts built from the JSON
// the page carries (json_script "matrix-data"); a click on a point opens its organization.
// Quadrants differ by point shape as well as colour; the dashed lines are the thresholds.
// The same accounts are listed by quadrant in tables below the chart, with links.
(function () {
  "use strict";

  // The retention view: custom dates only matter for the "Custom" period.
  const period = document.getElementById("id_period");
  if (period) {
    const toggle = function () {
      document.querySelectorAll(".custom-dates").forEach(function (el) {
        el.hidden = period.value !== "custom";
      });
    };
    period.addEventListener("change", toggle);
    toggle();
  }

  const canvas = document.getElementById("matrix-chart");
  if (!canvas || typeof Chart === "undefined") return;
  const source = document.getElementById(canvas.dataset.matrix);
  if (!source) return;
  const data = JSON.parse(source.textContent);

  const css = getComputedStyle(document.documentElement);
  const brand = (css.getPropertyValue("--keel-brand") || "#3b5bdb").trim();
  const text = (css.getPropertyValue("--bs-secondary-color") || "#6b7280").trim();
  const grid = (css.getPropertyValue("--keel-border") || "#e5e7eb").trim();
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  // Amounts as the server writes them (crm.money): the workspace's currency, Keel's locale.
  const money = new Intl.NumberFormat(data.money.locale, {
    style: "currency", currency: data.money.currency, maximumFractionDigits: 0,
  });
  const style = {
    invest: { colour: brand, shape: "circle" },
    protect: { colour: "#0f766e", shape: "rectRot" },
    develop: { colour: "#b45309", shape: "triangle" },
    serve: { colour: "#475569", shape: "rect" },
  };

  Chart.defaults.font.family = css.getPropertyValue("--bs-body-font-family") || "system-ui";
  Chart.defaults.color = text;
  if (reduced) Chart.defaults.animation = false;

  const amount = function (v) { return money.format(v); };
  const maxX = Math.max(data.thresholds.x, ...data.points.map(function (p) { return p.x; })) * 1.08 || 1;
  const maxY = Math.max(data.thresholds.y, ...data.points.map(function (p) { return p.y; })) * 1.08 || 1;

  const datasets = Object.keys(style).map(function (key) {
    return {
      label: data.quadrants[key],
      data: data.points.filter(function (p) { return p.q === key; }),
      backgroundColor: style[key].colour + "b3",
      borderColor: style[key].colour,
      pointStyle: style[key].shape,
      pointRadius: 6,
      pointHoverRadius: 9,
    };
  });
  const line = function (points, label) {
    return {
      type: "line", label: label, data: points, borderColor: text, borderDash: [5, 5],
      borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0, fill: false, showLine: true,
    };
  };
  datasets.push(line([{ x: data.thresholds.x, y: 0 }, { x: data.thresholds.x, y: maxY }], "Current threshold"));
  datasets.push(line([{ x: 0, y: data.thresholds.y }, { x: maxX, y: data.thresholds.y }], "Potential threshold"));

  const chart = new Chart(canvas, {
    type: "scatter",
    data: { datasets: datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      scales: {
        x: { min: 0, max: maxX, title: { display: true, text: "Current value" }, ticks: { callback: amount }, grid: { color: grid } },
        y: { min: 0, max: maxY, title: { display: true, text: "Potential value" }, ticks: { callback: amount }, grid: { color: grid } },
      },
      plugins: {
        legend: {
          labels: {
            usePointStyle: true,
            filter: function (item) { return item.datasetIndex < 4; },
          },
        },
        tooltip: {
          filter: function (item) { return item.datasetIndex < 4; },
          callbacks: {
            label: function (item) {
              const p = item.raw;
              return p.label + ": " + amount(p.x) + " now, " + amount(p.y) + " potential";
            },
            footer: function () { return "Click to open"; },
          },
        },
      },
      onHover: function (event, elements) {
        const hit = elements.some(function (e) { return e.datasetIndex < 4; });
        event.native.target.style.cursor = hit ? "pointer" : "default";
      },
      onClick: function (event, elements) {
        const hit = elements.find(function (e) { return e.datasetIndex < 4; });
        if (!hit) return;
        const point = chart.data.datasets[hit.datasetIndex].data[hit.index];
        if (point && point.url) window.location.assign(point.url);
      },
    },
  });
})();
