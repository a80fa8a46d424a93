/* Draws the dashboard's charts (Chart.js, served from our static files) from the tables the page
   embeds as JSON (#dashboard-data): the same rows as the HTML tables and the CSV downloads. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var RED = "#b22222", GREEN = "#2e7d32", BLUE = "#417690", AMBER = "#ffb300", GREY = "#9e9e9e", PURPLE = "#6a1b9a";
  var STATUS_COLOURS = { pending: GREY, running: BLUE, retrying: AMBER, succeeded: GREEN, dead: RED, discarded: "#d7ccc8" };
  window.dashboardCharts = {};

  function column(table, index) { return table.rows.map(function (r) { return r[index]; }); }
  function draw(name, config) {
    var canvas = document.getElementById("chart-" + name);
    if (!canvas || !data[name]) { return; }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    window.dashboardCharts[name] = new Chart(canvas, config);
  }
  function bars(name, labelIndex, series, options) {
    var t = data[name];
    draw(name, {
      type: "bar",
      data: {
        labels: column(t, labelIndex),
        datasets: series.map(function (s) {
          return { label: t.columns[s.index], data: column(t, s.index), backgroundColor: s.colour, stack: s.stack };
        })
      },
      options: options
    });
  }

  bars("orders-per-hour", 0, [{ index: 1, colour: BLUE }, { index: 2, colour: RED }],
       { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } });
  var revenue = data["revenue-per-day"];
  draw("revenue-per-day", {
    type: "bar",
    data: {
      labels: column(revenue, 0),
      datasets: [
        { label: "Revenue (net)", data: column(revenue, 3), backgroundColor: GREEN, yAxisID: "money" },
        { label: "Refunds", data: column(revenue, 4), backgroundColor: RED, yAxisID: "money" },
        { label: "Orders", data: column(revenue, 1), type: "line", borderColor: BLUE, backgroundColor: BLUE, yAxisID: "count" }
      ]
    },
    options: { scales: { money: { position: "left", beginAtZero: true, title: { display: true, text: "$" } },
                         count: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 } } } }
  });
  bars("times", 0, [{ index: 2, colour: BLUE }, { index: 3, colour: GREEN }, { index: 4, colour: AMBER }],
       { scales: { y: { beginAtZero: true, title: { display: true, text: "minutes" } } } });
  bars("on-time", 0, [{ index: 2, colour: GREEN, stack: "s" }, { index: 3, colour: RED, stack: "s" }],
       { indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } } });
  bars("top-pizzas", 0, [{ index: 1, colour: RED }], { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } });
  bars("top-toppings", 0, [{ index: 1, colour: PURPLE }], { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } });
  var cancelled = data.cancellations;
  draw("cancellations", {
    type: "doughnut",
    data: { labels: column(cancelled, 0),
            datasets: [{ data: column(cancelled, 1), backgroundColor: [RED, AMBER, BLUE, PURPLE, GREY, GREEN] }] },
    options: { plugins: { legend: { position: "right" } } }
  });
  var bus = data.deliveries;
  draw("deliveries", {
    type: "bar",
    data: {
      labels: column(bus, 0).map(function (h) { return h.split(".").pop(); }),
      datasets: bus.columns.slice(1, -1).map(function (status, i) {
        return { label: status, data: column(bus, i + 1), backgroundColor: STATUS_COLOURS[status] || GREY, stack: "s" };
      })
    },
    options: { indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } } }
  });
})();
