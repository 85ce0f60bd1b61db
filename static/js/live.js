// Live updates for the agent workspace over /ws/agent/ (protocol: docs/events.md).
// The server stays the only renderer: an event names what changed, and the page fetches exactly the
// partial that shows it (a ticket row, the view counts, the timeline, the actions bar).
(function () {
  "use strict";

  var RECONNECT_MAX_MS = 15000;
  var PAGE_SIZE = 50;
  var LIST_EVENTS = /^(ticket\.|message\.created$)/;
  var body = document.body;
  var socket = null;
  var attempts = 0;
  var conversation = document.querySelector("[data-ticket-id]");
  var list = document.querySelector("[data-live-list]");
  var me = body.dataset.userId;
  var pending = {};
  var customerWrote = {};

  function setState(state) { body.dataset.live = state; }

  // Sentences in the agent's language, rendered by the server into the page.
  function uiText() {
    var data = document.getElementById("ui-text");
    try { return data ? JSON.parse(data.textContent) : {}; } catch (e) { return {}; }
  }

  // Several events in a burst (an assignment records two) cost one fetch.
  function soon(key, work) {
    if (pending[key]) return;
    pending[key] = setTimeout(function () { delete pending[key]; work(); }, 120);
  }

  function fetchHtml(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        if (response.status === 204 || response.status === 404) return null;
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      });
  }

  function fromHtml(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function flash(element) {
    element.classList.remove("is-fresh");
    void element.offsetWidth; // restart the animation
    element.classList.add("is-fresh");
  }

  // --- ticket lists -------------------------------------------------------------------------------
  function listUrl(extra) {
    var query = list.dataset.query ? list.dataset.query + "&" : "";
    return list.dataset.liveList + "?" + query + extra;
  }

  function comesBefore(a, b) {
    if (list.dataset.order === "due") {
      // Soonest due first; rows without a running clock follow, in queue order.
      var da = a.dataset.due ? Number(a.dataset.due) : Infinity, db = b.dataset.due ? Number(b.dataset.due) : Infinity;
      if (da !== db) return da < db;
      if (da !== Infinity) return Number(a.dataset.ticketRow) < Number(b.dataset.ticketRow);
    }
    var pa = Number(a.dataset.priority), pb = Number(b.dataset.priority);
    if (pa !== pb) return pa > pb;
    var wa = Number(a.dataset.waiting), wb = Number(b.dataset.waiting);
    if (wa !== wb) return wa < wb;
    return Number(a.dataset.ticketRow) < Number(b.dataset.ticketRow);
  }

  // A row already on this page moves to its place; a new one joins only the first page, and only above
  // the end of a full page (further down it belongs to a page the agent has not loaded).
  function placeRow(row, wasHere) {
    if (!wasHere && list.dataset.firstPage !== "true") return;
    var tbody = document.getElementById("ticket-rows");
    var rows = tbody.querySelectorAll("[data-ticket-row]");
    var before = null;
    for (var i = 0; i < rows.length; i++) {
      if (comesBefore(row, rows[i])) { before = rows[i]; break; }
    }
    if (!before && !wasHere && rows.length >= PAGE_SIZE) return;
    var empty = tbody.querySelector("tr.empty");
    if (empty) empty.remove();
    tbody.insertBefore(row, before);
  }

  function refreshRow(ticketId, then) {
    fetchHtml(listUrl("row=" + ticketId)).then(function (html) {
      var existing = document.getElementById("ticket-row-" + ticketId);
      var wasSelected = existing && existing.classList.contains("is-selected");
      if (existing) existing.remove();
      if (!html) return;
      var row = fromHtml(html);
      if (wasSelected) row.classList.add("is-selected");
      placeRow(row, !!existing);
      if (row.parentNode) flash(row);
      if (then) then(row);
    });
  }

  function refreshCounts() {
    fetchHtml(listUrl("nav=1")).then(function (html) {
      var nav = document.getElementById("views-nav");
      if (!html || !nav) return;
      var fresh = fromHtml(html);
      nav.replaceWith(fresh);
      var current = fresh.querySelector("a.current .count");
      var heading = document.querySelector("[data-testid=current-count]");
      if (current && heading) heading.textContent = current.textContent;
    });
  }

  // --- the open ticket ----------------------------------------------------------------------------
  function agentNames() {
    var data = document.getElementById("agent-names");
    try { return data ? JSON.parse(data.textContent) : {}; } catch (e) { return {}; }
  }

  function refreshPart(id, url) {
    fetchHtml(url).then(function (html) {
      var holder = document.getElementById(id);
      if (html === null || !holder) return;
      holder.innerHTML = html;
    });
  }

  function composerText() {
    var box = document.querySelector("#composer textarea");
    return box ? box.value.trim() : "";
  }

  function banner(text) {
    var box = document.querySelector(".live-banner");
    if (!box) {
      box = document.createElement("div");
      box.className = "live-banner";
      box.setAttribute("role", "status");
      box.dataset.testid = "live-banner";
      body.appendChild(box);
    }
    box.textContent = text;
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.remove(); }, 8000);
  }

  function showCollision(frame) {
    var box = document.querySelector("[data-collision]");
    if (!box) return;
    var names = agentNames();
    var others = function (ids) {
      return (ids || []).filter(function (id) { return String(id) !== me; })
        .map(function (id) { return names[String(id)] || "#" + id; });
    };
    var replying = others(frame.replying);
    var viewing = others(frame.viewing).filter(function (name) { return replying.indexOf(name) < 0; });
    var parts = [];
    var t = uiText();
    if (replying.length) parts.push(replying.join(", ") + " " + (t.replying || "is replying"));
    if (viewing.length) parts.push(viewing.join(", ") + " " + (t.viewing || "is viewing"));
    box.textContent = parts.join(" · ");
    box.hidden = parts.length === 0;
  }

  // "<name> is typing…" (rendered by the server): on while the widget keeps saying so, off when the
  // customer stops, sends, or goes quiet for CUSTOMER_TYPING_MS (a lost "stopped" cannot leave it on).
  var CUSTOMER_TYPING_MS = 6000;
  var customerTypingTimer = null;

  function showCustomerTyping(state) {
    var line = document.querySelector("[data-customer-typing]");
    if (!line) return;
    clearTimeout(customerTypingTimer);
    line.hidden = !state;
    if (state) customerTypingTimer = setTimeout(function () { line.hidden = true; }, CUSTOMER_TYPING_MS);
  }

  function onTicketEvent(frame) {
    var ticketId = conversation.dataset.ticketId;
    if (String(frame.ticket_id) !== ticketId) return;
    if (frame.type === "ticket.collision") { showCollision(frame); return; }
    if (frame.type === "customer.typing") { showCustomerTyping(frame.state === true); return; }
    if (frame.type === "typing") return;
    if (isCustomerMessage(frame)) showCustomerTyping(false);
    // Due times moved (live only, nothing on the timeline): the header shows them.
    if (frame.type === "ticket.sla_changed") {
      soon("actions", function () { refreshPart("ticket-actions", conversation.dataset.actionsUrl); });
      return;
    }
    soon("timeline", function () { refreshPart("timeline", conversation.dataset.timelineUrl); });
    if (/^ticket\./.test(frame.type)) {
      soon("actions", function () { refreshPart("ticket-actions", conversation.dataset.actionsUrl); });
    }
    if (isCustomerMessage(frame)) {
      if (composerText()) banner(uiText().newWhileWriting || "A new message arrived while you were writing.");
      // The agent is looking at this very ticket: only a hidden tab needs telling.
      if (conversation.dataset.assignee === me && document.hidden) alertNewMessage(frame);
    }
  }

  function isCustomerMessage(frame) {
    return frame.type === "message.created" && (frame.data || {}).direction === "inbound";
  }

  // --- new messages on my tickets: a browser notification (opt-in) and a sound (opt-in) ------------
  var SOUND_KEY = "sportello.sound";

  function soundOn() {
    try { return localStorage.getItem(SOUND_KEY) === "on"; } catch (e) { return false; }
  }

  function showSoundState() {
    var button = document.querySelector("[data-sound-toggle]");
    if (button) button.setAttribute("aria-pressed", soundOn() ? "true" : "false");
  }

  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      var audio = new Context(), tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.35);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.35);
    } catch (e) { /* audio blocked until the page is used: nothing to do */ }
  }

  function alertNewMessage(frame) {
    var data = frame.data || {};
    body.dataset.lastAlert = String(frame.ticket_id);
    if (soundOn()) beep();
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      var note = new Notification((uiText().newMessage || "New message") + " · #" + frame.ticket_id, {
        body: String(data.text || "").slice(0, 140),
        tag: "sportello-ticket-" + frame.ticket_id
      });
      note.onclick = function () { window.focus(); location.href = "/tickets/" + frame.ticket_id + "/"; };
    } catch (e) { /* unsupported here */ }
  }

  // --- presence: the agent's own control and the team panel in the header ---------------------------
  // The server answers a "presence" frame with the result, and publishes "presence.changed" to the
  // agent's teams and supervisors: other tabs of the same agent, and teammates' panels, follow that.
  var presenceControl = document.querySelector("[data-presence-control]");
  var teamPanel = document.querySelector("[data-team-presence]");

  function presenceText() {
    var data = document.getElementById("presence-text");
    try { return data ? JSON.parse(data.textContent) : {}; } catch (e) { return {}; }
  }

  function showMyPresence(presence, manual) {
    if (!presenceControl) return;
    var t = presenceText();
    if (presence) {
      presenceControl.dataset.presence = presence;
      presenceControl.querySelector("[data-presence-state]").textContent = t[presence] || presence;
    }
    if (manual !== undefined && manual !== null) {
      presenceControl.dataset.manual = manual;
      presenceControl.querySelector("[data-presence-mode]").textContent =
        "(" + (manual ? t.chosen || "chosen" : t.automatic || "automatic") + ")";
      presenceControl.querySelector("[data-presence-select]").value = manual || "auto";
    }
  }

  function showTeammatePresence(agentId, presence) {
    if (!teamPanel) return;
    var item = teamPanel.querySelector('[data-agent-presence="' + String(Number(agentId)) + '"]');
    if (!item) return; // not listed when the page was rendered: it shows on the next page load
    item.dataset.presence = presence;
    item.querySelector("[data-presence-label]").textContent = presenceText()[presence] || presence;
    var count = teamPanel.querySelector("[data-team-online-count]");
    if (count) count.textContent = String(teamPanel.querySelectorAll('[data-presence="online"]').length);
  }

  function onPresenceFrame(frame) {
    if (frame.type === "presence") { showMyPresence(frame.presence, frame.manual); return; }
    if (String(frame.agent_id) === me) showMyPresence(frame.presence, frame.manual);
    else showTeammatePresence(frame.agent_id, frame.presence);
  }

  if (presenceControl) {
    // With JavaScript the choice applies as soon as it is made; the button is for pages without it.
    presenceControl.querySelector("[data-presence-submit]").hidden = true;
    presenceControl.addEventListener("change", function (event) {
      if (!event.target.matches("[data-presence-select]")) return;
      // The open socket carries the choice; a page without one (not connected yet, or a page that does
      // not go live) posts the form, which ends in the same service.
      if (socket && socket.readyState === WebSocket.OPEN) send({ type: "presence", status: event.target.value });
      else presenceControl.submit();
    });
  }

  // --- the socket ---------------------------------------------------------------------------------
  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function onFrame(frame) {
    // Other scripts (sla.js) act on frames too; this one stays the only socket.
    document.dispatchEvent(new CustomEvent("sportello:frame", { detail: frame }));
    if (frame.type === "hello") {
      attempts = 0;
      setState("connected");
      showMyPresence(frame.presence);
      if (conversation) {
        send({ type: "subscribe", ticket_id: Number(conversation.dataset.ticketId),
               after_seq: Number(conversation.dataset.seq) });
      }
      return;
    }
    if (frame.type === "subscribed") { showCollision(frame); setState("subscribed"); return; }
    if (frame.type === "unsubscribed" && conversation && frame.reason === "forbidden") {
      banner((uiText()).gone || "This ticket is no longer visible to you.");
      return;
    }
    if (frame.type === "presence" || frame.type === "presence.changed") { onPresenceFrame(frame); return; }
    if (frame.ticket_id === undefined) return;
    if (conversation) onTicketEvent(frame);
    if (list && LIST_EVENTS.test(frame.type)) {
      // Events of one burst share one refresh, so the customer's message is remembered beside it.
      if (isCustomerMessage(frame)) customerWrote[frame.ticket_id] = frame;
      soon("row-" + frame.ticket_id, function () {
        refreshRow(frame.ticket_id, function (row) {
          var message = customerWrote[frame.ticket_id];
          delete customerWrote[frame.ticket_id];
          if (message && row.dataset.assignee === me) alertNewMessage(message);
        });
      });
      soon("counts", refreshCounts);
    }
  }

  function connect() {
    if (!("WebSocket" in window)) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/agent/");
    setState("connecting");
    socket.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      onFrame(frame);
    };
    socket.onclose = function (event) {
      setState("closed");
      if (event.code === 4401 || event.code === 4403) return; // signed out or not an agent
      attempts += 1;
      // What was missed meanwhile is fetched on subscribe (after_seq) or by reloading the lists.
      setTimeout(connect, Math.min(RECONNECT_MAX_MS, 500 * Math.pow(2, attempts)));
    };
  }

  // "Replying" for the collision warning: on while the composer holds text.
  var replying = false;
  // "Typing" reaches the customer (web chat shows it): only while writing a reply, never a note.
  var TYPING_IDLE_MS = 3000;
  var typing = false;
  var typingTimer = null;

  function setTyping(state) {
    clearTimeout(typingTimer);
    if (state) typingTimer = setTimeout(function () { setTyping(false); }, TYPING_IDLE_MS);
    if (state === typing) return;
    typing = state;
    send({ type: "typing", ticket_id: Number(conversation.dataset.ticketId), state: state });
  }

  document.addEventListener("input", function (event) {
    if (!conversation || !event.target.matches("#composer textarea")) return;
    var now = event.target.value.trim() !== "";
    if (now !== replying) {
      replying = now;
      send({ type: "replying", ticket_id: Number(conversation.dataset.ticketId), state: now });
    }
    var form = document.getElementById("composer");
    setTyping(now && form && form.dataset.mode !== "note");
  });
  document.addEventListener("change", function (event) {
    if (conversation && event.target.name === "mode" && event.target.value === "note") setTyping(false);
  });
  document.addEventListener("submit", function (event) {
    if (conversation && event.target.id === "composer") setTyping(false);
  });

  document.addEventListener("click", function (event) {
    if (!event.target.closest) return;
    if (event.target.closest("[data-enable-notifications]") && "Notification" in window) {
      Notification.requestPermission();
    }
    if (event.target.closest("[data-sound-toggle]")) {
      try { localStorage.setItem(SOUND_KEY, soundOn() ? "off" : "on"); } catch (e) { return; }
      showSoundState();
      if (soundOn()) beep();
    }
  });
  showSoundState();

  // The supervisor's dashboard (dashboard.js) follows the same socket.
  if (conversation || list || document.querySelector("[data-live-dashboard]")) connect();
})();
