// SLA countdowns and alarms in the agent workspace (docs/workspace.md, docs/sla.md).
// The server renders each countdown ("reply within 12 min") with its due time; this script keeps the
// words true as time passes, from the same table of words the server used (#sla-words), and turns a
// ticket's warning or breach frame (live.js passes every socket frame on as "sportello:frame") into an
// in-page alert and, where the agent allowed it, a browser notification. Rows and the ticket's header
// are re-rendered by the server on those frames (live.js); nothing here decides what a ticket shows.
(function () {
  "use strict";

  var TICK_MS = 5000;
  var MAX_ALERTS = 5;
  var body = document.body;
  var words = readWords();
  // The server's clock, not the browser's: a laptop whose clock is off still counts down right.
  var skew = words.now ? Date.parse(words.now) - Date.now() : 0;
  if (isNaN(skew)) skew = 0;

  function readWords() {
    var data = document.getElementById("sla-words");
    try { return data ? JSON.parse(data.textContent) : {}; } catch (e) { return {}; }
  }

  function fill(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (all, key) {
      return values[key] === undefined ? all : String(values[key]);
    });
  }

  // As tickets/sla_display.py's duration_words: at most two units, rounded up to the minute.
  function duration(ms) {
    var minutes = Math.max(1, Math.ceil(ms / 60000));
    if (minutes < 60) return fill(words.minutes, { count: minutes });
    if (minutes < 1440) {
      var rest = minutes % 60;
      return fill(words.hours, { count: Math.floor(minutes / 60) }) +
        (rest ? " " + fill(words.minutes, { count: rest }) : "");
    }
    var hours = Math.floor((minutes % 1440) / 60);
    return fill(words.days, { count: Math.floor(minutes / 1440) }) +
      (hours ? " " + fill(words.hours, { count: hours }) : "");
  }

  function now() { return Date.now() + skew; }

  function tick() {
    var moment = now();
    var all = document.querySelectorAll("[data-sla-due]");
    for (var i = 0; i < all.length; i++) {
      var element = all[i];
      var due = Date.parse(element.dataset.slaDue || "");
      if (isNaN(due)) continue; // paused: nothing counts
      var left = due - moment;
      var state = left <= 0 || element.dataset.slaBreached === "true" ? "breached"
        : element.dataset.slaWarned === "true" ? "warning" : "running";
      var text = left > 0 ? fill(words[element.dataset.slaMetric], { time: duration(left) })
        : fill(words.overdue, { time: duration(-left) });
      var time = element.querySelector("time");
      if (time && time.textContent !== text) time.textContent = text;
      if (element.dataset.slaState !== state) {
        element.dataset.slaState = state;
        element.className = "sla-due sla-" + state;
      }
    }
  }

  // --- alarms --------------------------------------------------------------------------------------
  function alertBox() {
    var box = document.querySelector("[data-sla-alerts]");
    if (!box) {
      box = document.createElement("div");
      box.className = "sla-alerts";
      box.dataset.slaAlerts = "";
      body.appendChild(box);
    }
    return box;
  }

  function alarmText(frame) {
    var data = frame.data || {};
    var metric = words[data.metric + "_name"] || data.metric;
    var template = frame.type === "ticket.sla_breached" ? words.breach_alert : words.warning_alert;
    return fill(template, { metric: metric, ticket: frame.ticket_id });
  }

  function showAlert(frame) {
    var data = frame.data || {};
    var box = alertBox();
    var item = document.createElement("div");
    item.className = "sla-alert" + (frame.type === "ticket.sla_breached" ? " is-breach" : "");
    item.setAttribute("role", "alert");
    item.dataset.testid = "sla-alert";
    var link = document.createElement("a");
    link.href = "/tickets/" + encodeURIComponent(frame.ticket_id) + "/";
    link.textContent = alarmText(frame);
    item.appendChild(link);
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "dismiss";
    dismiss.textContent = "×";
    dismiss.setAttribute("aria-label", words.dismiss || "Dismiss");
    dismiss.addEventListener("click", function () { item.remove(); });
    item.appendChild(dismiss);
    var subject = (data.ticket || {}).subject;
    if (subject) {
      var line = document.createElement("span");
      line.className = "subject";
      line.textContent = subject;
      item.appendChild(line);
    }
    if ("Notification" in window && Notification.permission === "default") {
      // Browsers ask for permission only from a click: the alert offers one.
      var allow = document.createElement("button");
      allow.type = "button";
      allow.className = "link";
      allow.textContent = words.enable_notifications || "Turn on browser notifications";
      allow.addEventListener("click", function () { Notification.requestPermission(); allow.remove(); });
      item.appendChild(allow);
    }
    box.insertBefore(item, box.firstChild);
    while (box.children.length > MAX_ALERTS) box.lastChild.remove();
  }

  function notify(frame) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    var data = frame.data || {};
    try {
      // One per ticket, metric and alarm: several tabs of the same agent show it once.
      var note = new Notification(alarmText(frame), {
        body: String((data.ticket || {}).subject || "").slice(0, 140),
        tag: "sportello-sla-" + frame.ticket_id + "-" + data.metric + "-" + frame.type,
        requireInteraction: frame.type === "ticket.sla_breached"
      });
      note.onclick = function () { window.focus(); location.href = "/tickets/" + frame.ticket_id + "/"; };
    } catch (e) { /* unsupported here */ }
  }

  // The policy says whether an alarm notifies; it is for the ticket's assignee and the supervisors.
  function concernsMe(frame) {
    var data = frame.data || {};
    if (data.notify !== true) return false;
    var assignee = (data.ticket || {}).assignee_id;
    return body.dataset.supervisor === "true" ||
      (assignee !== null && assignee !== undefined && String(assignee) === body.dataset.userId);
  }

  var alerted = {};

  document.addEventListener("sportello:frame", function (event) {
    var frame = event.detail || {};
    if (frame.type !== "ticket.sla_warning" && frame.type !== "ticket.sla_breached") return;
    if (!concernsMe(frame)) return;
    // A ticket's catch-up after a reconnect replays what this page may already have shown.
    var key = frame.ticket_id + ":" + frame.seq;
    if (alerted[key]) return;
    alerted[key] = true;
    body.dataset.lastSlaAlarm = frame.ticket_id + ":" + frame.type;
    showAlert(frame);
    notify(frame);
  });

  tick();
  setInterval(tick, TICK_MS);
})();
