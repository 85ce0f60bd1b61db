/* The widget's link to the help desk: visitor session, websocket with backoff, and the outbox.
 * Every message gets a client id when it is typed and keeps it through reconnects and retries, so the
 * help desk files it exactly once however often it is sent. Typed messages wait in the outbox (kept in
 * this frame's storage) until the socket acknowledges them; nothing typed is ever silently dropped.
 */
(function () {
  "use strict";

  var ACK_TIMEOUT_MS = 12000;
  var PING_MS = 25000;
  var SYNC_MS = 60000;
  // After a message is taken, the help desk files and triages it within a moment; one early sync then
  // brings the answer time its SLA promises (availability.reply_due_at) without waiting a whole minute.
  var PROMISE_SYNC_MS = 5000;

  function newId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function Store(key) { this.prefix = "sportello:" + key + ":"; }
  Store.prototype.get = function (name, fallback) {
    try {
      var raw = localStorage.getItem(this.prefix + name);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) { return fallback; }
  };
  Store.prototype.set = function (name, value) {
    try { localStorage.setItem(this.prefix + name, JSON.stringify(value)); } catch (e) { /* private mode */ }
  };
  Store.prototype.drop = function (name) {
    try { localStorage.removeItem(this.prefix + name); } catch (e) { /* private mode */ }
  };

  function Link(cfg, hooks) {
    this.cfg = cfg;
    this.hooks = hooks;
    this.store = new Store(cfg.key);
    this.token = this.store.get("token", "");
    // Marks live as long as the messages on screen: a fresh page asks for the whole history.
    this.marks = {};
    this.outbox = this.store.get("outbox", []);
    this.files = {};
    // File links live minutes (cfg.file_link_seconds): when they were last signed, to renew them in time.
    this.filesAt = 0;
    this.sessions = Promise.resolve();
    this.socket = null;
    this.authed = false;
    this.attempt = 0;
    this.stopped = false;
    this.timers = {};
    this.state = "connecting";
    var self = this;
    this.outbox.forEach(function (item) { if (item.status === "sending") item.status = "queued"; });
    window.addEventListener("online", function () { self.reconnectSoon(0); });
    // The browser knows the network is gone before any ping could tell: stop pretending to be connected.
    window.addEventListener("offline", function () { if (self.socket) self.socket.close(); });
  }

  Link.prototype.setState = function (state) {
    if (this.state === state) return;
    this.state = state;
    this.hooks.state(state);
  };

  Link.prototype.request = function (path, options) {
    return fetch("/widget/" + encodeURIComponent(this.cfg.key) + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        body.httpStatus = response.status;
        return body;
      });
    });
  };

  /* Start or change the visitor session; ``extra`` carries pre-chat answers or a verified identity. */
  Link.prototype.session = function (extra) {
    var self = this;
    // One at a time: an identify racing the first session must not be overwritten by it.
    var next = this.sessions.then(function () { return self.sessionNow(extra); });
    this.sessions = next.catch(function () { return null; });
    return next;
  };

  Link.prototype.sessionNow = function (extra) {
    var self = this;
    var body = Object.assign({ token: this.token, origin: this.cfg.origin }, extra || {});
    return this.request("/session", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (data) {
      if (!data.token) return data;
      var changed = data.visitor_id !== self.store.get("visitor", "");
      self.token = data.token;
      self.store.set("token", data.token);
      self.store.set("visitor", data.visitor_id);
      if (changed) {
        self.marks = {};
        // What the previous visitor's conversation already holds is not this visitor's to show.
        self.outbox = self.outbox.filter(function (item) { return item.status !== "sent"; });
        self.save();
        self.hooks.reset(data);
        if (self.socket) self.socket.close();
      }
      else if (self.authed) {
        // Same visitor, newer details: the open socket takes the new token before the next message.
        self.socket.send(JSON.stringify({ type: "auth", token: data.token }));
      }
      self.hooks.session(data);
      return data;
    });
  };

  Link.prototype.start = function () {
    var self = this;
    // Without a token (the help desk refused a new session for now) the link backs off and tries again.
    this.session().then(function (data) {
      if (data && data.token) self.connect(); else self.reconnectSoon();
    }, function () { self.reconnectSoon(); });
  };

  Link.prototype.connect = function () {
    if (this.stopped || this.socket) return;
    if (navigator.onLine === false) { this.setState("offline"); return; }  // the "online" event resumes
    var self = this;
    var url = location.origin.replace(/^http/, "ws") + "/ws/widget/" + encodeURIComponent(this.cfg.key) + "/";
    var socket;
    this.setState("connecting");
    try { socket = new WebSocket(url); } catch (e) { this.reconnectSoon(); return; }
    this.socket = socket;
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "auth", token: self.token, marks: self.marks }));
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      self.onFrame(frame);
    };
    socket.onclose = function (event) {
      if (self.socket !== socket) return;
      self.socket = null;
      self.authed = false;
      clearInterval(self.timers.ping);
      clearInterval(self.timers.sync);
      self.outbox.forEach(function (item) { if (item.status === "sending") item.status = "queued"; });
      self.save();
      self.hooks.outbox();
      if (event.code === 4401) {
        // The token is no good any more: a new session, then straight back.
        self.token = "";
        self.store.drop("token");
        self.session().then(function (data) {
          self.reconnectSoon(data && data.token ? 0 : undefined);
        }, function () { self.reconnectSoon(); });
        return;
      }
      if (event.code === 4403 || event.code === 4404) {
        self.stopped = true;
        self.setState("unavailable");
        return;
      }
      self.reconnectSoon();
    };
  };

  Link.prototype.reconnectSoon = function (delay) {
    if (this.stopped || this.socket) return;
    var self = this;
    this.setState("offline");
    clearTimeout(this.timers.reconnect);
    if (delay === undefined) {
      delay = Math.min(15000, 500 * Math.pow(2, this.attempt)) * (0.75 + Math.random() / 2);
      this.attempt += 1;
    }
    this.timers.reconnect = setTimeout(function () { self.connect(); }, delay);
  };

  Link.prototype.onFrame = function (frame) {
    var self = this;
    if (frame.type === "hello") {
      this.authed = true;
      this.attempt = 0;
      this.token = frame.token;
      this.store.set("token", frame.token);
      this.mergeMarks(frame.marks);
      this.filesAt = Date.now();
      this.setState("online");
      this.hooks.hello(frame);
      this.timers.ping = setInterval(function () { self.ping(); }, PING_MS);
      this.timers.sync = setInterval(function () { self.sync(); }, SYNC_MS);
      this.flush();
    } else if (frame.type === "synced") {
      this.mergeMarks(frame.marks);
      this.hooks.messages(frame.messages, frame.availability);
    } else if (frame.type === "message") {
      var message = frame.message;
      if (frame.seq && message.ticket_id && (this.marks[message.ticket_id] || 0) < frame.seq) {
        this.marks[message.ticket_id] = frame.seq;
      }
      this.hooks.messages([message]);
    } else if (frame.type === "ack") {
      this.acknowledged(frame.client_id);
    } else if (frame.type === "typing") {
      this.hooks.typing(frame.state);
    } else if (frame.type === "pong") {
      clearTimeout(this.timers.pong);
    } else if (frame.type === "error") {
      if (frame.client_id) this.fail(frame.client_id, frame.code, frame.message);
      else this.hooks.error(frame.code, frame.message);
    }
  };

  Link.prototype.mergeMarks = function (marks) {
    var self = this;
    Object.keys(marks || {}).forEach(function (k) { self.marks[k] = Math.max(self.marks[k] || 0, marks[k]); });
  };

  Link.prototype.ping = function () {
    var self = this;
    if (!this.authed) return;
    this.socket.send(JSON.stringify({ type: "ping" }));
    // A socket that cannot answer a ping in time is dead even if the browser has not noticed yet.
    clearTimeout(this.timers.pong);
    this.timers.pong = setTimeout(function () { if (self.socket) self.socket.close(); }, 10000);
  };

  Link.prototype.sync = function () {
    if (!this.authed) return;
    // Past half their life, the links of files on screen are asked for again, with the missed messages.
    var files = Date.now() - this.filesAt > (this.cfg.file_link_seconds || 600) * 500;
    if (files) this.filesAt = Date.now();
    this.socket.send(JSON.stringify({ type: "sync", marks: this.marks, files: files }));
  };

  Link.prototype.typing = function (state) {
    if (this.authed && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "typing", state: state }));
    }
  };

  Link.prototype.read = function (upTo) {
    if (this.authed) this.socket.send(JSON.stringify({ type: "read", up_to: upTo }));
  };

  Link.prototype.save = function () {
    this.store.set("outbox", this.outbox.filter(function (item) { return !item.file; }).map(function (item) {
      return { client_id: item.client_id, text: item.text, status: item.status, at: item.at,
               answer_by_email: item.answer_by_email, reason: item.reason || "" };
    }));
  };

  Link.prototype.find = function (clientId) {
    return this.outbox.filter(function (item) { return item.client_id === clientId; })[0];
  };

  Link.prototype.send = function (text, options) {
    options = options || {};
    var item = { client_id: newId(), text: text, status: "queued", at: new Date().toISOString(),
                 answer_by_email: !!options.answer_by_email, file: options.file || null };
    if (item.file) this.files[item.client_id] = item.file;
    this.outbox.push(item);
    this.save();
    this.hooks.outbox();
    this.flush();
    return item;
  };

  Link.prototype.retry = function (clientId) {
    var item = this.find(clientId);
    if (!item) return;
    item.status = "queued";
    item.reason = "";
    this.save();
    this.hooks.outbox();
    this.flush();
  };

  Link.prototype.flush = function () {
    var self = this;
    if (!this.authed) return;
    this.outbox.forEach(function (item) {
      if (item.status !== "queued") return;
      item.status = "sending";
      if (item.file) { self.upload(item); return; }
      self.socket.send(JSON.stringify({ type: "message", client_id: item.client_id, text: item.text,
                                        answer_by_email: item.answer_by_email }));
      setTimeout(function () {
        // No answer: the socket is probably dead; the resend carries the same client id.
        if (item.status === "sending" && self.socket) self.socket.close();
      }, ACK_TIMEOUT_MS);
    });
    this.save();
    this.hooks.outbox();
  };

  Link.prototype.upload = function (item) {
    var self = this;
    var form = new FormData();
    form.append("client_id", item.client_id);
    form.append("text", item.text || "");
    form.append("file", item.file, item.file.name);
    this.request("/messages", { method: "POST", headers: { Authorization: "Bearer " + this.token }, body: form })
      .then(function (body) {
        if (body.httpStatus === 202) self.acknowledged(item.client_id);
        else self.fail(item.client_id, body.error || "upload_failed", body.message || "");
      }, function () { self.fail(item.client_id, "network", ""); });
  };

  Link.prototype.acknowledged = function (clientId) {
    var item = this.find(clientId);
    if (!item) return;
    item.status = "sent";
    this.save();
    this.hooks.outbox();
    var self = this;
    clearTimeout(this.timers.promise);
    this.timers.promise = setTimeout(function () { self.sync(); }, PROMISE_SYNC_MS);
  };

  Link.prototype.fail = function (clientId, code, message) {
    var item = this.find(clientId);
    if (!item) return;
    item.status = "failed";
    item.reason = message || code;
    this.save();
    this.hooks.outbox();
  };

  /* The server's copy arrived: the outbox entry has done its job. */
  Link.prototype.settle = function (clientId) {
    var before = this.outbox.length;
    this.outbox = this.outbox.filter(function (item) { return item.client_id !== clientId; });
    delete this.files[clientId];
    if (this.outbox.length !== before) this.save();
  };

  window.SportelloLink = Link;
})();
