/* The dashboard's charts: the data comes from the API (/api/v1/dashboard/), computed on the server; this file only
   draws it with Apache ECharts (served by the app from the npm package). Every chart has its table in the page. */
(function () {
  "use strict";
  var GREEN = ["#1d6b43", "#6fb38a", "#c4e3cf", "#e0a526", "#7a5195", "#ef5675", "#3d85c6", "#8a8a8a"];

  function draw(element, option) {
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(Object.assign({ color: GREEN, animation: false, tooltip: { trigger: "item" } }, option));
    window.addEventListener("resize", function () { chart.resize(); });
    element.dataset.drawn = "true";
    return chart;
  }

  function bars(element, categories, series, horizontal) {
    var category = { type: "category", data: categories, axisLabel: { interval: 0, width: 140, overflow: "truncate" } };
    var value = { type: "value" };
    return draw(element, {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: horizontal ? 150 : 60, right: 20, top: 30, bottom: horizontal ? 30 : 60 },
      xAxis: horizontal ? value : Object.assign(category, { axisLabel: { rotate: 30, interval: 0 } }),
      yAxis: horizontal ? category : value,
      series: series.map(function (s) { return Object.assign({ type: "bar", barMaxWidth: 28 }, s); })
    });
  }

  function render(data, root) {
    var labels = JSON.parse(root.querySelector("#chart-labels").textContent);
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      var key = element.dataset.chart;
      if (key === "stages") {
        bars(element, data.pipeline.map(function (r) { return r.label; }), [
          { name: labels.co2e, data: data.pipeline.map(function (r) { return r.co2e_t; }) }
        ]);
      } else if (key === "statuses") {
        draw(element, {
          tooltip: { trigger: "item" },
          series: [{ type: "funnel", sort: "none", left: "3%", width: "62%", top: 10, bottom: 10, minSize: "8%",
                     label: { formatter: "{b}: {c}" },
                     data: data.statuses.map(function (r) { return { name: r.label, value: r.measure_count }; }) }]
        });
      } else if (key === "quarters") {
        var quarters = data.quarters;
        draw(element, {
          tooltip: { trigger: "axis" },
          legend: { top: 0 },
          grid: { left: 60, right: 60, top: 30, bottom: 50 },
          xAxis: { type: "category", data: quarters.map(function (r) { return r.quarter; }), axisLabel: { rotate: 30 } },
          yAxis: [{ type: "value", name: labels.period }, { type: "value", name: labels.cumulative }],
          series: [
            { type: "bar", name: labels.period, barMaxWidth: 28, data: quarters.map(function (r) { return r.co2e_t; }) },
            { type: "line", name: labels.cumulative, yAxisIndex: 1, data: quarters.map(function (r) { return r.cumulative_co2e_t; }) }
          ]
        });
      } else if (key === "scorecard" && data.scorecard) {
        bars(element, data.scorecard.map(function (r) { return r.label; }), [
          { name: labels.park, data: data.scorecard.map(function (r) {
              return { value: r.value, itemStyle: { color: r.met ? "#1d6b43" : "#c0392b" } }; }) },
          { name: labels.threshold, data: data.scorecard.map(function (r) { return r.threshold; }), itemStyle: { color: "#8a8a8a" } }
        ], true);
      } else if (key === "kinds") {
        draw(element, {
          legend: { top: 0 },
          series: [{ type: "pie", radius: ["35%", "65%"], top: 20,
                     data: data.by_kind.map(function (r) { return { name: r.label, value: r.co2e_t }; }) }]
        });
      } else if (key === "techniques") {
        var rows = data.by_technique;
        bars(element, rows.map(function (r) { return r.label; }), [
          { name: labels.potential, data: rows.map(function (r) { return r.potential.co2e_t; }) },
          { name: labels.realised, data: rows.map(function (r) { return r.realised.co2e_t; }) }
        ], true);
      } else if (key === "children") {
        var children = data.children.rows;
        element.style.height = Math.max(300, children.length * 24 + 70) + "px";  // a readable row per child
        var chart = bars(element, children.map(function (r) { return r.name; }), [
          { name: labels.potential, data: children.map(function (r) { return r.potential.co2e_t; }) },
          { name: labels.realised, data: children.map(function (r) { return r.realised.co2e_t; }) }
        ], true);
        chart.on("click", function (event) { window.location.href = children[event.dataIndex].url; });
      } else if (key === "targets") {
        bars(element, data.targets.map(function (r) { return r.label; }), [
          { name: labels.share, data: data.targets.map(function (r) { return r.share; }),
            markLine: { silent: true, symbol: "none", data: [{ xAxis: 100 }] } }
        ], true);
      } else if (key === "flows" && data.sankey) {
        var names = {};
        data.sankey.nodes.forEach(function (n) { names[n.id] = n.name; });
        draw(element, {
          tooltip: { trigger: "item", formatter: function (p) {
            if (p.dataType === "edge") { return names[p.data.source] + " → " + names[p.data.target] + ": " + p.data.value.toLocaleString() + " " + p.data.unit; }
            return names[p.name];
          } },
          series: [{
            type: "sankey", left: 10, right: 160, top: 10, bottom: 10, nodeGap: 10, emphasis: { focus: "adjacency" },
            lineStyle: { color: "gradient", curveness: 0.5 },
            label: { formatter: function (p) { return names[p.name]; } },
            data: data.sankey.nodes.map(function (n) {
              return { name: n.id, itemStyle: n.layer === "resource" ? { color: "#e0a526" } : undefined };
            }),
            links: data.sankey.links.map(function (l) { return { source: l.source, target: l.target, value: l.value, unit: l.unit }; })
          }]
        });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("dashboard");
    if (!root || typeof echarts === "undefined") { return; }
    var print = root.querySelector("[data-print]");
    if (print) { print.addEventListener("click", function () { window.print(); }); }
    window.addEventListener("beforeprint", function () {  // a printed report shows every table
      root.querySelectorAll("details.chart-table").forEach(function (d) { d.open = true; });
    });
    // The API answers in the language asked for; the page's own, not the browser's.
    var headers = { "Accept": "application/json", "Accept-Language": document.documentElement.lang || "vi" };
    fetch(root.dataset.api, { credentials: "same-origin", headers: headers })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (data) { render(data, root); root.dataset.ready = "true"; })
      .catch(function () { root.dataset.ready = "error"; });
  });
})();
