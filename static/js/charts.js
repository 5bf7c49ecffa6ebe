// Keel's dashboards: Chart.js charts built from the JSON each card carries
// (<script type="application/json" id="chart-…">, rendered by json_script), and sparklines
// on the scorecard tiles. Series differ by pattern, dash and point shape as well as colour,
// so a chart reads without colour; every chart also has its numbers in a table beside it.
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;

  const css = getComputedStyle(document.documentElement);
  const brand = (css.getPropertyValue("--keel-brand") || "#3b5bdb").trim();
  const text = (css.getPropertyValue("--bs-secondary-color") || "#6b7280").trim();
  const grid = (css.getPropertyValue("--keel-border") || "#e5e7eb").trim();
  const colours = [brand, "#0f766e", "#b45309", "#9d174d", "#475569"];
  const dashes = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
  const shapes = ["circle", "rectRot", "triangle", "rect", "star"];
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  Chart.defaults.font.family = css.getPropertyValue("--bs-body-font-family") || "system-ui";
  Chart.defaults.color = text;
  Chart.defaults.borderColor = grid;
  if (reduced) Chart.defaults.animation = false;

  function hatch(colour, index) {
    // Solid for the first series, hatched (diagonal, then dotted) for the others.
    if (index === 0) return colour;
    const tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    const ctx = tile.getContext("2d");
    ctx.fillStyle = colour + "40";
    ctx.fillRect(0, 0, 8, 8);
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 2;
    if (index % 2) {
      ctx.beginPath(); ctx.moveTo(-2, 10); ctx.lineTo(10, -2); ctx.stroke();
    } else {
      ctx.beginPath(); ctx.arc(4, 4, 1.6, 0, Math.PI * 2); ctx.fill();
    }
    return ctx.createPattern(tile, "repeat");
  }

  // Numbers as the server writes them: amounts in the workspace's currency and Keel's
  // locale (crm.money.money_js, carried by each chart's JSON), whole units; compact on axes.
  function formats(money) {
    const locale = (money && money.locale) || undefined;
    const currency = (money && money.currency) || "EUR";
    return {
      whole: new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }),
      money: new Intl.NumberFormat(locale, { style: "currency", currency: currency, maximumFractionDigits: 0 }),
      tick: new Intl.NumberFormat(locale, { style: "currency", currency: currency, notation: "compact", maximumFractionDigits: 1 }),
    };
  }

  function format(axis, value, f, tick) {
    if (value === null || value === undefined) return "no data";
    switch (axis) {
      case "percent": return (value * 100).toFixed(0) + " %";
      case "money": return (tick ? f.tick : f.money).format(value);
      case "days": return value.toFixed(1) + " d";
      default: return f.whole.format(value);
    }
  }

  function build(canvas) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const f = formats(data.money);
    const horizontal = data.kind === "hbar";
    const line = data.kind === "line";
    const datasets = data.datasets.map(function (set, i) {
      const colour = colours[i % colours.length];
      const secondary = data.secondary && i > 0;
      return {
        label: set.label,
        data: set.data,
        type: line ? "line" : "bar",
        yAxisID: secondary ? "y2" : "y",
        backgroundColor: line ? colour : hatch(colour, i),
        borderColor: colour,
        borderWidth: line ? 2 : 1.5,
        borderDash: line ? dashes[i % dashes.length] : [],
        pointStyle: shapes[i % shapes.length],
        pointRadius: line ? 4 : 0,
        pointHoverRadius: 6,
        spanGaps: true,
        tension: 0.25,
        borderRadius: line ? 0 : 4,
      };
    });
    if (data.limits && data.limits.some(function (v) { return v !== null; })) {
      datasets.push({
        label: "Limit (days)",
        data: data.limits,
        type: "line",
        borderColor: css.getPropertyValue("--keel-red").trim() || "#b91c1c",
        backgroundColor: "transparent",
        borderDash: [4, 4],
        borderWidth: 2,
        pointStyle: "line",
        pointRadius: 8,
        showLine: false,
        yAxisID: "y",
      });
    }
    const scales = {};
    const valueAxis = {
      beginAtZero: true,
      // Counts are whole numbers: no 0.2, 0.4… ticks that print as "0".
      ticks: { precision: data.axis === "count" ? 0 : undefined, callback: function (v) { return format(data.axis, v, f, true); } },
      grid: { color: grid },
    };
    if (horizontal) {
      scales.x = valueAxis;
      scales.y = { grid: { display: false } };
    } else {
      scales.y = valueAxis;
      scales.x = { grid: { display: false } };
    }
    if (data.secondary) {
      scales.y2 = {
        position: "right",
        beginAtZero: true,
        grid: { drawOnChartArea: false },
        ticks: { callback: function (v) { return format(data.secondary, v, f, true); } },
        title: { display: true, text: "days" },
      };
    }
    new Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { display: datasets.length > 1, labels: { usePointStyle: true, boxWidth: 14 } },
          tooltip: {
            callbacks: {
              label: function (item) {
                const axis = item.dataset.yAxisID === "y2" ? data.secondary : (item.dataset.label.indexOf("days") >= 0 ? "days" : data.axis);
                return item.dataset.label + ": " + format(axis, item.raw, f);
              },
            },
          },
        },
        scales: scales,
      },
    });
  }

  function sparkline(canvas) {
    const source = document.getElementById(canvas.dataset.spark);
    if (!source) return;
    const points = JSON.parse(source.textContent).filter(function (p) { return p[1] !== null; });
    if (points.length < 2) { canvas.parentElement.hidden = true; return; }
    new Chart(canvas, {
      type: "line",
      data: {
        labels: points.map(function (p) { return p[0]; }),
        datasets: [{ data: points.map(function (p) { return Number(p[1]); }), borderColor: brand, borderWidth: 1.5, pointRadius: 0, tension: 0.3, fill: { target: "origin", above: brand + "14" } }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        events: [],
        plugins: { legend: { display: false }, tooltip: { enabled: false } },
        scales: { x: { display: false }, y: { display: false } },
      },
    });
  }

  document.querySelectorAll("canvas[data-chart]").forEach(build);
  document.querySelectorAll("canvas[data-spark]").forEach(sparkline);

  // Custom dates only matter for the "Custom" period.
  const period = document.getElementById("id_period");
  function toggleDates() {
    document.querySelectorAll(".custom-dates").forEach(function (el) {
      el.hidden = period.value !== "custom";
    });
  }
  if (period) { period.addEventListener("change", toggleDates); toggleDates(); }

  if (window.bootstrap) {
    document.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (el) {
      bootstrap.Tooltip.getOrCreateInstance(el);
    });
  }
})();
