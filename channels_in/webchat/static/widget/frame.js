/* The chat inside the widget's iframe: launcher, panel, pre-chat form, conversation and composer.
 * Everything a customer or an agent wrote is put on screen with textContent, never as HTML.
 */
(function () {
  "use strict";

  var STRINGS = {
    en: {
      open: "Open chat", close: "Close chat", send: "Send", attach: "Attach a file", placeholder: "Write a message…",
      online: "Connected", connecting: "Connecting…", offline: "Offline — reconnecting…",
      unavailable: "The chat is not available on this site.",
      queued: "Waiting for connection", sending: "Sending…", sent: "Sent", failed: "Not sent", retry: "Retry",
      read: "Read", you: "You", agent: "Support", typing: "Support is typing…",
      answerIn: function (m) { return "We usually answer in about " + m + " minute" + (m === 1 ? "" : "s") + "."; },
      answerBy: function (when) { return "We will answer you by " + when + "."; },
      away: "Nobody is available right now.",
      awayEmail: "Leave your message and your email address: we will answer you by email.",
      awayHere: "Leave your message: we will answer here as soon as we are back.",
      prechatIntro: "Before we start, tell us who you are.", name: "Name", email: "Email", optional: "(optional)",
      start: "Start chat", emailNeeded: "Please give an email address so we can answer you.",
      expired: "Your previous chat session had expired, so a new conversation was started.",
      unread: function (n) { return n + " unread message" + (n === 1 ? "" : "s"); },
      tooBig: function (kb) { return "That file is too large (at most " + kb + " KB)."; },
      badType: "That type of file cannot be sent.", file: "File", log: "Conversation"
    },
    it: {
      open: "Apri la chat", close: "Chiudi la chat", send: "Invia", attach: "Allega un file",
      placeholder: "Scrivi un messaggio…",
      online: "Connesso", connecting: "Connessione…", offline: "Non connesso — riconnessione…",
      unavailable: "La chat non è disponibile su questo sito.",
      queued: "In attesa di connessione", sending: "Invio…", sent: "Inviato", failed: "Non inviato",
      retry: "Riprova", read: "Letto", you: "Tu", agent: "Assistenza", typing: "L'assistenza sta scrivendo…",
      answerIn: function (m) { return "Di solito rispondiamo in circa " + m + (m === 1 ? " minuto." : " minuti."); },
      answerBy: function (when, sameDay) { return "Ti risponderemo entro " + (sameDay ? "le " : "") + when + "."; },
      away: "Al momento non c'è nessuno disponibile.",
      awayEmail: "Lascia il tuo messaggio e il tuo indirizzo email: ti risponderemo via email.",
      awayHere: "Lascia il tuo messaggio: ti risponderemo qui appena possibile.",
      prechatIntro: "Prima di iniziare, dicci chi sei.", name: "Nome", email: "Email", optional: "(facoltativo)",
      start: "Inizia la chat", emailNeeded: "Indica un indirizzo email per ricevere la risposta.",
      expired: "La sessione precedente era scaduta: è iniziata una nuova conversazione.",
      unread: function (n) { return n + (n === 1 ? " messaggio non letto" : " messaggi non letti"); },
      tooBig: function (kb) { return "Il file è troppo grande (al massimo " + kb + " KB)."; },
      badType: "Questo tipo di file non può essere inviato.", file: "File", log: "Conversazione"
    }
  };

  var cfg = JSON.parse(document.getElementById("widget-config").textContent);
  var T = STRINGS[cfg.language] || STRINGS.en;
  var messages = {};
  var visitor = { name: "", email: "", verified: false };
  var availability = null;
  var isOpen = false;
  var typingTimer = null;
  var readUpTo = 0;
  var link;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function toParent(type, extra) {
    var msg = Object.assign({ sportello: 1, type: type }, extra || {});
    if (window.parent !== window) window.parent.postMessage(msg, cfg.origin);
  }

  /* --- the page ------------------------------------------------------------------------------------- */
  document.documentElement.style.setProperty("--accent", cfg.color);
  var app = document.getElementById("app");
  var badge = el("span", { className: "badge", hidden: "" });
  var launcher = el("button", { type: "button", className: "launcher", "aria-expanded": "false",
                                "aria-controls": "panel", "aria-label": T.open }, [
    el("span", { className: "bubble", "aria-hidden": "true" }),
    cfg.launcher_text ? el("span", { className: "launcher-text", text: cfg.launcher_text }) : null,
    badge
  ]);
  var connection = el("p", { className: "connection", role: "status", "data-state": "connecting",
                             text: T.connecting });
  var avail = el("p", { className: "availability" });
  var closeButton = el("button", { type: "button", className: "close", "aria-label": T.close, text: "×" });
  var log = el("ol", { className: "log", role: "log", "aria-live": "polite", "aria-label": T.log });
  var typing = el("p", { className: "typing", hidden: "", "aria-live": "polite", text: T.typing });
  var notice = el("p", { className: "notice", role: "alert", hidden: "" });
  var text = el("textarea", { id: "composer-text", rows: "2", maxlength: "10000", placeholder: T.placeholder,
                              "aria-label": T.placeholder });
  var fileInput = el("input", { type: "file", id: "composer-file", className: "visually-hidden",
                                accept: cfg.attachment_types.join(","), "aria-label": T.attach });
  var attachButton = el("button", { type: "button", className: "attach", "aria-label": T.attach, text: "+" });
  var sendButton = el("button", { type: "submit", className: "send", text: T.send });
  var awayEmail = el("input", { type: "email", id: "away-email", autocomplete: "email", maxlength: "320" });
  var awayBox = el("div", { className: "away", hidden: "" }, [
    el("p", { className: "away-text" }),
    el("label", { for: "away-email", text: T.email }), awayEmail
  ]);
  var composer = el("form", { className: "composer", novalidate: "" }, [
    fileInput, attachButton, text, sendButton
  ]);
  var prechat = buildPrechat();
  var panel = el("section", { id: "panel", className: "panel", role: "dialog", "aria-modal": "false",
                              "aria-labelledby": "panel-title", hidden: "" }, [
    el("header", {}, [
      el("div", {}, [el("h1", { id: "panel-title", text: cfg.title }), connection, avail]),
      closeButton
    ]),
    cfg.greeting ? el("p", { className: "greeting", text: cfg.greeting }) : null,
    log, typing, notice, prechat, awayBox, composer
  ]);
  app.appendChild(panel);
  app.appendChild(launcher);

  function buildPrechat() {
    var fields = [];
    ["name", "email"].forEach(function (field) {
      var mode = cfg.prechat[field];
      if (mode === "off") return;
      var input = el("input", { id: "prechat-" + field, name: field, type: field === "email" ? "email" : "text",
                                autocomplete: field, maxlength: field === "email" ? "320" : "200" });
      if (mode === "required") input.required = true;
      fields.push(el("label", { for: input.id, text: T[field] + (mode === "optional" ? " " + T.optional : "") }));
      fields.push(input);
    });
    var form = el("form", { className: "prechat", hidden: "", novalidate: "" },
                  [el("p", { text: T.prechatIntro })].concat(fields, [
                    el("button", { type: "submit", text: T.start })]));
    form.enabled = fields.length > 0;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!form.checkValidity()) { form.reportValidity(); return; }
      var data = {};
      ["name", "email"].forEach(function (f) { var i = form.querySelector("#prechat-" + f); if (i) data[f] = i.value; });
      link.session(data).then(function (body) {
        if (body.error) { showNotice(body.message || body.error); return; }
        link.store.set("prechat", true);
        render();
        text.focus();
      }, function () { showNotice(T.offline); });
    });
    return form;
  }

  /* --- state to screen -------------------------------------------------------------------------------- */
  function showNotice(message) {
    notice.textContent = message || "";
    notice.hidden = !message;
  }

  function needsPrechat() {
    if (!prechat.enabled || link.store.get("prechat", false) || visitor.verified) return false;
    if (Object.keys(messages).length || link.outbox.length) return false;
    var missing = (cfg.prechat.name === "required" && !visitor.name) ||
                  (cfg.prechat.email === "required" && !visitor.email);
    return missing || (!visitor.name && !visitor.email);
  }

  function isAway() { return availability && !availability.online; }

  // The answer time the visitor's ticket is promised by its SLA (the agents see it counted down), in
  // the visitor's own clock and language; "" when there is none or it has passed.
  function promisedAnswer() {
    var due = availability && availability.reply_due_at ? new Date(availability.reply_due_at) : null;
    if (!due || isNaN(due.getTime()) || due.getTime() <= Date.now()) return "";
    var today = new Date();
    var sameDay = due.toDateString() === today.toDateString();
    var options = sameDay ? { hour: "2-digit", minute: "2-digit" }
      : { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" };
    var when;
    try { when = new Intl.DateTimeFormat(cfg.language, options).format(due); } catch (e) { when = due.toLocaleString(); }
    return T.answerBy(when, sameDay);
  }

  function render() {
    prechat.hidden = !needsPrechat();
    composer.hidden = !prechat.hidden;
    awayBox.hidden = !(isAway() && cfg.email_fallback && prechat.hidden);
    awayBox.querySelector(".away-text").textContent = cfg.email_fallback ? T.awayEmail : T.awayHere;
    if (!awayEmail.value && visitor.email) awayEmail.value = visitor.email;
    var promised = promisedAnswer();
    if (!availability) avail.textContent = "";
    else if (isAway()) avail.textContent = T.away + (cfg.email_fallback ? "" : " " + T.awayHere) + (promised ? " " + promised : "");
    else avail.textContent = promised || (availability.response_minutes ? T.answerIn(availability.response_minutes) : "");
    renderLog();
    renderBadge();
  }

  function bubble(entry) {
    var li = el("li", { className: "msg " + (entry.direction === "in" ? "mine" : "theirs"),
                        "data-id": entry.id || "", "data-client-id": entry.client_id || "" });
    li.appendChild(el("span", { className: "visually-hidden",
                                text: (entry.direction === "in" ? T.you : entry.author || T.agent) + ": " }));
    if (entry.direction !== "in" && entry.author) li.appendChild(el("span", { className: "author", text: entry.author }));
    if (entry.text) li.appendChild(el("p", { className: "text", text: entry.text }));
    (entry.attachments || []).forEach(function (a) {
      if (a.url && /^image\//.test(a.type)) {
        li.appendChild(el("a", { href: a.url, target: "_blank", rel: "noopener" }, [el("img", { src: a.url, alt: a.name })]));
      } else if (a.url) {
        li.appendChild(el("a", { href: a.url, className: "file", target: "_blank", rel: "noopener", text: a.name }));
      } else {
        li.appendChild(el("span", { className: "file", text: T.file + ": " + a.name }));
      }
    });
    return li;
  }

  function statusLine(item) {
    var line = el("span", { className: "status", "data-status": item.status, text: T[item.status] || item.status });
    if (item.status === "failed") {
      if (item.reason) line.textContent = T.failed + ": " + item.reason;
      var retry = el("button", { type: "button", className: "retry", text: T.retry });
      retry.addEventListener("click", function () { link.retry(item.client_id); });
      return el("span", {}, [line, retry]);
    }
    return line;
  }

  function renderLog() {
    var atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    var list = Object.keys(messages).map(function (k) { return messages[k]; });
    list.sort(function (a, b) { return a.sent_at < b.sent_at ? -1 : a.sent_at > b.sent_at ? 1 : a.id - b.id; });
    var settled = {};
    log.textContent = "";
    list.forEach(function (m) {
      if (m.client_id) settled[m.client_id] = true;
      var li = bubble(m);
      if (m.direction === "in") li.appendChild(el("span", { className: "status", "data-status": "sent", text: T.sent }));
      else if (m.status === "read") li.setAttribute("data-read", "1");
      log.appendChild(li);
    });
    link.outbox.forEach(function (item) {
      if (settled[item.client_id]) return;
      var li = bubble({ direction: "in", client_id: item.client_id, text: item.text,
                        attachments: item.file ? [{ name: item.file.name, type: "" }] : [] });
      li.classList.add("pending");
      li.appendChild(statusLine(item));
      log.appendChild(li);
    });
    if (atBottom || list.length < 3) log.scrollTop = log.scrollHeight;
  }

  function unreadCount() {
    return Object.keys(messages).filter(function (k) {
      var m = messages[k];
      return m.direction === "out" && m.status !== "read" && m.id > readUpTo;
    }).length;
  }

  function renderBadge() {
    var n = isOpen ? 0 : unreadCount();
    badge.hidden = !n;
    badge.textContent = n ? String(n) : "";
    launcher.setAttribute("aria-label", n ? T.open + " — " + T.unread(n) : T.open);
  }

  function markRead() {
    if (!isOpen || document.hidden) return;
    var top = 0;
    var deliverable = 0;
    Object.keys(messages).forEach(function (k) {
      var m = messages[k];
      if (m.direction !== "out") return;
      if (m.id > top) top = m.id;
      // Only a reply that has left the help desk can be marked read there.
      if ((m.status === "sent" || m.status === "delivered") && m.id > deliverable) deliverable = m.id;
    });
    if (top > readUpTo) {
      readUpTo = top;
      link.store.set("read", top);
    }
    if (deliverable) link.read(deliverable);
    renderBadge();
  }

  function setOpen(open) {
    if (isOpen === open) return;
    isOpen = open;
    panel.hidden = !open;
    launcher.hidden = open;
    launcher.setAttribute("aria-expanded", String(open));
    toParent("state", { open: open });
    if (open) {
      markRead();
      log.scrollTop = log.scrollHeight;
      (prechat.hidden ? text : prechat.querySelector("input") || text).focus();
    } else {
      launcher.focus();
    }
    renderBadge();
  }

  /* --- user actions ----------------------------------------------------------------------------------- */
  launcher.addEventListener("click", function () { setOpen(true); });
  closeButton.addEventListener("click", function () { setOpen(false); });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape" && isOpen) setOpen(false); });
  document.addEventListener("visibilitychange", markRead);
  attachButton.addEventListener("click", function () { fileInput.click(); });
  text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(); }
  });
  composer.addEventListener("submit", function (event) { event.preventDefault(); submit(); });

  // The agents see "<name> is typing…": said again at most every TYPING_REPEAT_MS while the visitor
  // types (their page drops it after a few silent seconds), "stopped" after TYPING_IDLE_MS without a
  // key, when the box empties, and on sending.
  var TYPING_REPEAT_MS = 2500, TYPING_IDLE_MS = 4000;
  var myTyping = false, myTypingSaid = 0, myTypingIdle = null;
  function setMyTyping(state) {
    clearTimeout(myTypingIdle);
    if (state) {
      myTypingIdle = setTimeout(function () { setMyTyping(false); }, TYPING_IDLE_MS);
      if (myTyping && Date.now() - myTypingSaid < TYPING_REPEAT_MS) return;
      myTypingSaid = Date.now();
    } else if (!myTyping) {
      return;
    }
    myTyping = state;
    link.typing(state);
  }
  text.addEventListener("input", function () { setMyTyping(text.value.trim() !== ""); });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    if (file.size > cfg.max_attachment_bytes) { showNotice(T.tooBig(Math.floor(cfg.max_attachment_bytes / 1024))); return; }
    if (cfg.attachment_types.indexOf(file.type) < 0) { showNotice(T.badType); return; }
    showNotice("");
    withEmailIfAway(function (byEmail) {
      link.send(text.value.trim(), { file: file, answer_by_email: byEmail });
      text.value = "";
    });
  });

  function withEmailIfAway(then) {
    if (!(isAway() && cfg.email_fallback)) { then(false); return; }
    var email = awayEmail.value.trim();
    if (!email) { showNotice(T.emailNeeded); awayEmail.focus(); return; }
    if (email === visitor.email) { then(true); return; }
    link.session({ email: email }).then(function (body) {
      if (body.error) { showNotice(body.message || body.error); awayEmail.focus(); return; }
      showNotice("");
      then(true);
    }, function () { then(true); });
  }

  function submit() {
    var value = text.value.trim();
    if (!value) return;
    withEmailIfAway(function (byEmail) {
      showNotice("");
      link.send(value, { answer_by_email: byEmail });
      text.value = "";
      setMyTyping(false);
      text.focus();
    });
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.origin !== cfg.origin) return;
    var msg = event.data;
    if (!msg || msg.sportello !== 1) return;
    if (msg.cmd === "open") setOpen(true);
    else if (msg.cmd === "close") setOpen(false);
    else if (msg.cmd === "layout") document.body.classList.toggle("full", !!(msg.data && msg.data.full));
    else if (msg.cmd === "identify" && msg.data) {
      var who = msg.data;
      link.session({ identity: { user_id: who.user_id || "", email: who.email || "", name: who.name || "",
                                 user_hash: who.user_hash || "" } }).then(function (body) {
        if (body.error) showNotice(body.message || body.error);
      });
    }
  });

  /* --- the link ----------------------------------------------------------------------------------------- */
  var booted = false;
  link = new window.SportelloLink(cfg, {
    state: function (state) {
      connection.setAttribute("data-state", state);
      connection.textContent = T[state] || state;
      renderLog();
    },
    session: function (data) {
      visitor = { name: data.name || "", email: data.email || "", verified: !!data.verified };
      if (data.availability) availability = data.availability;
      if (data.notice) showNotice(T.expired);
      render();
    },
    reset: function () { messages = {}; readUpTo = 0; link.store.set("read", 0); render(); },
    hello: function (frame) {
      visitor = { name: frame.name || "", email: frame.email || "", verified: !!frame.verified };
      availability = frame.availability;
      addMessages(frame.messages, !booted);
      booted = true;
      render();
    },
    messages: function (list, state) {
      if (state) availability = state;
      addMessages(list, false);
      render();
    },
    outbox: function () { renderLog(); },
    typing: function (state) {
      typing.hidden = !state;
      clearTimeout(typingTimer);
      if (state) typingTimer = setTimeout(function () { typing.hidden = true; }, 6000);
    },
    error: function (code, message) { showNotice(message || code); }
  });
  readUpTo = link.store.get("read", 0);

  function addMessages(list, quiet) {
    (list || []).forEach(function (m) {
      var known = messages[m.id];
      messages[m.id] = m;
      if (m.client_id) link.settle(m.client_id);
      if (!known && m.direction === "out") {
        typing.hidden = true;
        if (!quiet) toParent("message", { data: { id: m.id, text: m.text, direction: "out", author: m.author } });
      }
    });
    markRead();
  }

  link.start();
  render();
  toParent("ready");
})();
