// The supervisor's live dashboard (docs/supervisor.md).
// live.js holds the page's one agent socket and passes every frame on as "sportello:frame". On an event
// that can move a figure, this script fetches a fresh snapshot (/supervisor/data/, JSON): at most one
// request in flight and one waiting behind it, so a burst of events costs two fetches. The snapshot is
// fetched on every "hello" too, so the figures are exact after a reconnect, and again when the snapshot
// says a figure changes by time alone (next_change_at: a ticket entering the hour before its due time, or
// midnight). Durations and per-hour rates tick here between fetches, from the snapshot's timestamps and
// the server's clock; nothing is recounted on a timer.
(function () {
  "use strict";

  var root = document.querySelector("[data-live-dashboard]");
  if (!root) return;
  var TICK_MS = 10000;
  // Fetches start at least this far apart, so a busy desk does not turn into a stream of requests.
  var MIN_GAP_MS = 400;
  var CHART_HEIGHT = 260;
  // Ticket events that change no figure: a tag, a contact, a priority (its due times follow as
  // ticket.sla_changed when they move).
  var IGNORED = {
    "ticket.tags_changed": true, "ticket.contact_changed": true, "ticket.contact_merge_undone": true,
    "ticket.priority_changed": true, "ticket.collision": true
  };
  var body = document.body;
  var lang = document.documentElement.lang || "en";
  var words = readJson("dashboard-words");
  var slaWords = readJson("sla-words");
  var snapshot = readJson("dashboard-data");
  var skew = 0;
  var inFlight = false;
  var again = false;
  var lastStart = 0;
  var gapTimer = null;
  var changeTimer = null;
  var plot = null;
  var version = 0;
  var oneDecimal = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

  function readJson(id) {
    var data = document.getElementById(id);
    try { return data ? JSON.parse(data.textContent) : {}; } catch (e) { return {}; }
  }

  function serverNow() { return Date.now() + skew; }

  function fill(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (all, key) {
      return values[key] === undefined ? all : String(values[key]);
    });
  }

  // As tickets/sla_display.py's duration_words (and sla.js): at most two units, rounded up to the minute.
  function duration(ms) {
    var minutes = Math.max(1, Math.ceil(ms / 60000));
    if (minutes < 60) return fill(slaWords.minutes, { count: minutes });
    if (minutes < 1440) {
      var rest = minutes % 60;
      return fill(slaWords.hours, { count: Math.floor(minutes / 60) }) +
        (rest ? " " + fill(slaWords.minutes, { count: rest }) : "");
    }
    var hours = Math.floor((minutes % 1440) / 60);
    return fill(slaWords.days, { count: Math.floor(minutes / 1440) }) +
      (hours ? " " + fill(slaWords.hours, { count: hours }) : "");
  }

  function hoursToday() {
    var start = Date.parse(snapshot.day_start);
    return isNaN(start) ? 1 : Math.max((serverNow() - start) / 3600000, 1);
  }

  function missing(value) { return value === null || value === undefined; }

  // --- figures ------------------------------------------------------------------------------------
  // The snapshot as "<row>.<figure>" keys, the names the page's [data-figure] elements carry.
  function flatten(data) {
    var flat = {};
    function put(prefix, object) {
      Object.keys(object || {}).forEach(function (name) { flat[prefix + "." + name] = object[name]; });
    }
    function key(id) { return id === null ? "none" : String(id); }
    put("total", data.total);
    (data.teams || []).forEach(function (row) { put("team." + key(row.id), row); });
    (data.channels || []).forEach(function (row) { put("channel." + key(row.id), row); });
    (data.agents || []).forEach(function (agent) { put("agent." + agent.id, agent); });
    ["today", "last_week"].forEach(function (day) {
      ["arrivals", "answers"].forEach(function (series) {
        (((data.intraday || {})[day] || {})[series] || []).forEach(function (value, index) {
          flat["intraday." + day + "." + series + "." + index] = value;
        });
      });
    });
    return flat;
  }

  // What an element shows now: its format decides how a value (or a stored timestamp) reads.
  function textOf(element, value) {
    var format = element.dataset.format;
    if (format === "since") {
      var since = Date.parse(value || "");
      return isNaN(since) ? words.none : duration(serverNow() - since);
    }
    if (format === "duration") return missing(value) ? words.none : duration(value * 1000);
    if (format === "rate") return missing(value) ? words.none : oneDecimal.format(Number(value) / hoursToday());
    return missing(value) ? words.none : String(value);
  }

  function show(element, value) {
    var format = element.dataset.format;
    if (format === "meter") { element.value = Number(value) || 0; return; }
    if (format === "presence") {
      element.dataset.presence = value;
      var label = element.querySelector("[data-presence-label]");
      if (label) label.textContent = (words.presence || {})[value] || value;
      return;
    }
    if (format === "since") element.dataset.since = value || "";
    if (format === "rate") {
      element.dataset.count = missing(value) ? "" : String(value);
      // The rate shows; the day's count is in the tooltip.
      if (element.dataset.title) element.title = element.dataset.title + ": " + element.dataset.count;
    }
    element.dataset.value = missing(value) ? "" : String(value);
    var text = textOf(element, value);
    if (element.textContent !== text) {
      element.textContent = text;
      element.classList.remove("is-changed");
      void element.offsetWidth; // restart the highlight
      element.classList.add("is-changed");
    }
  }

  function applyFigures(data) {
    var flat = flatten(data);
    var elements = document.querySelectorAll("[data-figure]");
    for (var i = 0; i < elements.length; i++) show(elements[i], flat[elements[i].dataset.figure]);
    var updated = document.querySelector("[data-dashboard-updated]");
    if (updated) {
      updated.setAttribute("datetime", data.now);
      updated.textContent = new Date(Date.parse(data.now)).toLocaleTimeString(lang, { timeZone: data.time_zone });
    }
    drawChart(data);
    version += 1;
    body.dataset.dashboardVersion = String(version);
  }

  // Time-based figures between two snapshots: durations grow, rates divide by more hours.
  function tick() {
    var elements = document.querySelectorAll('[data-format="since"], [data-format="rate"]');
    for (var i = 0; i < elements.length; i++) {
      var element = elements[i];
      var stored = element.dataset.format === "since" ? element.dataset.since : element.dataset.count;
      var text = textOf(element, stored === "" ? null : stored);
      if (element.textContent !== text) element.textContent = text;
    }
  }

  // --- fetching -----------------------------------------------------------------------------------
  function apply(data) {
    snapshot = data;
    var at = Date.parse(data.now);
    if (!isNaN(at)) skew = at - Date.now();
    scheduleTimeChange(data);
    var panels = document.getElementById("dashboard-panels");
    if (!panels || panels.dataset.layout === data.layout) { applyFigures(data); return null; }
    // A team, channel or agent came or went: the server renders the tables again.
    return fetch(root.dataset.panelsUrl, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null) {
          panels.innerHTML = html;
          panels.dataset.layout = data.layout;
        }
        applyFigures(data);
      });
  }

  // Whether a snapshot is on its way or waiting its turn (tests wait for a quiet page).
  function showBusy() {
    body.dataset.dashboardFetching = inFlight || again || gapTimer ? "true" : "false";
  }

  function refresh() {
    if (inFlight) { again = true; showBusy(); return; }
    var wait = lastStart + MIN_GAP_MS - Date.now();
    if (wait > 0) {
      if (!gapTimer) gapTimer = setTimeout(function () { gapTimer = null; refresh(); }, wait);
      showBusy();
      return;
    }
    inFlight = true;
    showBusy();
    lastStart = Date.now();
    fetch(root.dataset.liveDashboard, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(apply)
      .catch(function () { body.dataset.dashboardError = "true"; })
      .then(function () {
        inFlight = false;
        if (again) { again = false; refresh(); }
        showBusy();
      });
  }

  function scheduleTimeChange(data) {
    clearTimeout(changeTimer);
    var at = Date.parse(data.next_change_at || "");
    if (isNaN(at)) return;
    // A second past the moment, so the server's "within the hour" already holds when it counts.
    changeTimer = setTimeout(refresh, Math.min(Math.max(at - serverNow(), 0) + 1000, 2147483000));
  }

  function moves(frame) {
    if (frame.type === "hello" || frame.type === "presence.changed") return true;
    if (frame.type === "message.created") {
      var direction = (frame.data || {}).direction;
      return direction === "inbound" || direction === "outbound";
    }
    return /^ticket\./.test(frame.type || "") && !IGNORED[frame.type];
  }

  document.addEventListener("sportello:frame", function (event) {
    if (moves(event.detail || {})) refresh();
  });

  // --- the intraday chart (uPlot) -------------------------------------------------------------------
  function clock(minutes) {
    var hours = Math.floor(minutes / 60), rest = minutes % 60;
    return (hours < 10 ? "0" : "") + hours + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function chartData(data) {
    var intraday = data.intraday, step = intraday.bucket_minutes;
    var columns = [[], [], [], [], []];
    for (var slot = 0; slot * step < 1440; slot++) {
      columns[0].push(slot * step);
      columns[1].push(slot < intraday.today.arrivals.length ? intraday.today.arrivals[slot] : null);
      columns[2].push(slot < intraday.today.answers.length ? intraday.today.answers[slot] : null);
      columns[3].push(intraday.last_week.arrivals[slot]);
      columns[4].push(intraday.last_week.answers[slot]);
    }
    return columns;
  }

  function drawChart(data) {
    var holder = document.querySelector("[data-intraday-chart]");
    if (!holder || !window.uPlot || !data.intraday) return;
    if (plot) { plot.setData(chartData(data)); return; }
    var options = {
      width: holder.clientWidth || 800,
      height: CHART_HEIGHT,
      scales: { x: { time: false, range: [0, 1440] } },
      axes: [
        {
          splits: function () { return [0, 180, 360, 540, 720, 900, 1080, 1260, 1440]; },
          values: function (u, splits) { return splits.map(clock); }
        },
        { label: words.messages }
      ],
      series: [
        { label: words.time, value: function (u, value) { return missing(value) ? "" : clock(value); } },
        { label: words.arrivals, stroke: "#2457d6", width: 2 },
        { label: words.answers, stroke: "#1e8e3e", width: 2 },
        { label: words.arrivals_last_week, stroke: "#2457d6", width: 1, dash: [4, 4] },
        { label: words.answers_last_week, stroke: "#1e8e3e", width: 1, dash: [4, 4] }
      ]
    };
    plot = new window.uPlot(options, chartData(data), holder);
    holder.dataset.drawn = "true";
    if ("ResizeObserver" in window) {
      new ResizeObserver(function () {
        if (holder.clientWidth) plot.setSize({ width: holder.clientWidth, height: CHART_HEIGHT });
      }).observe(holder);
    }
  }

  var at = Date.parse(snapshot.now || "");
  if (!isNaN(at)) skew = at - Date.now();
  if (snapshot.intraday) drawChart(snapshot);
  scheduleTimeChange(snapshot);
  setInterval(tick, TICK_MS);
})();
