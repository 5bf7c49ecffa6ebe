// The forecast chart (Chart.js from the project's static files); the table below the
// chart carries the same figures for screen readers and for a closer look.
(function () {
  "use strict";
  const canvas = document.getElementById("forecast-chart");
  if (!canvas || typeof Chart === "undefined") return;
  const split = function (name) { return (canvas.dataset[name] || "").split("|"); };
  const numbers = function (name) { return split(name).map(function (v) { return Number(v) || 0; }); };
  const styles = getComputedStyle(document.documentElement);
  const brand = styles.getPropertyValue("--keel-brand").trim() || "#3b5bdb";
  // Amounts as the server writes them (crm.money): the workspace's currency, Keel's locale.
  const money = new Intl.NumberFormat(canvas.dataset.locale || undefined, {
    style: "currency", currency: canvas.dataset.currency || "EUR", maximumFractionDigits: 0,
  });
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: split("labels"),
      datasets: [
        { label: "Weighted", data: numbers("weighted"), backgroundColor: brand, borderRadius: 4 },
        { label: "Unweighted", data: numbers("amount"), backgroundColor: "rgba(148, 163, 184, .45)", borderRadius: 4 },
        { label: "Won", data: numbers("won"), backgroundColor: "rgba(16, 185, 129, .75)", borderRadius: 4 },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : undefined,
      plugins: {
        legend: { position: "bottom" },
        tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + money.format(c.parsed.y); } } },
      },
      scales: { y: { ticks: { callback: function (v) { return money.format(v); } } } },
    },
  });
})();
