/* The reports page: draws each chart with uPlot from the JSON block its element names (data-source).
   The same numbers are in the tables beside the charts, which are what assistive technology reads. */
(function () {
  "use strict";

  var COLORS = { created: "#2457d6", solved: "#1e8e3e", reopened: "#c0392b", backlog: "#8a4fd1" };
  var HEIGHT = 240;

  function chartData(element) {
    var source = document.getElementById(element.dataset.source);
    return source ? JSON.parse(source.textContent) : null;
  }

  // Days in the page's language; the zone is UTC because each day is sent as its midnight in UTC.
  var LANGUAGE = document.documentElement.lang || undefined;
  var SHORT_DAY = new Intl.DateTimeFormat(LANGUAGE, { day: "numeric", month: "short", timeZone: "UTC" });
  var LONG_DAY = new Intl.DateTimeFormat(LANGUAGE, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });

  var DAY_STEPS = [1, 2, 7, 14, 28, 91, 182, 364].map(function (days) { return days * 86400; });

  function dayLabel(seconds) { return SHORT_DAY.format(new Date(seconds * 1000)); }

  function options(data, width) {
    var series = [{
      label: data.x_label,
      value: function (u, seconds) { return seconds == null ? "–" : LONG_DAY.format(new Date(seconds * 1000)); },
    }];
    data.series.forEach(function (line) {
      var color = COLORS[line.key] || "#6b7385";
      series.push({ label: line.label, stroke: color, width: 2, points: { show: data.x.length < 45 } });
    });
    return {
      width: width,
      height: HEIGHT,
      series: series,
      // Ticks fall on whole days (midnights in UTC, as the days are sent), never between two.
      tzDate: function (seconds) { return uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"); },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      axes: [
        { incrs: DAY_STEPS, values: function (u, ticks) { return ticks.map(dayLabel); } },
        { values: function (u, ticks) { return ticks.map(function (tick) { return Number.isInteger(tick) ? tick : ""; }); } },
      ],
    };
  }

  function draw(element) {
    var data = chartData(element);
    if (!data || typeof uPlot === "undefined") return;
    var columns = [data.x].concat(data.series.map(function (line) { return line.values; }));
    var plot = new uPlot(options(data, element.clientWidth || 600), columns, element);
    element.dataset.drawn = "true";
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () { plot.setSize({ width: element.clientWidth || 600, height: HEIGHT }); }, 100);
    });
  }

  function start() {
    document.querySelectorAll("[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
