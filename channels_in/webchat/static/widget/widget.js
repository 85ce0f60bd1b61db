/* Sportello chat loader: one async script tag on the host page.
 * It draws nothing until the help desk answered with the channel's configuration, so a help desk
 * that is down, slow or refusing this site leaves the page exactly as it was. The chat itself lives
 * in an iframe on the help desk's origin: the host's CSS and scripts cannot reach into it.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-channel]");
  if (!script || window.Sportello && window.Sportello.loaded) return;
  var key = script.getAttribute("data-channel") || "";
  var base;
  try { base = new URL(script.src, location.href).origin; } catch (e) { return; }
  var queue = window.Sportello && window.Sportello.q || [];
  var handlers = {};
  var frame = null;
  var ready = false;
  var pending = [];
  var state = { open: false, mobile: false };
  var config = null;

  function post(cmd, data) {
    if (!frame || !ready) { pending.push([cmd, data]); return; }
    frame.contentWindow.postMessage({ sportello: 1, cmd: cmd, data: data || null }, base);
  }

  function emit(name, data) {
    (handlers[name] || []).slice().forEach(function (fn) {
      try { fn(data); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }

  var api = {
    loaded: true,
    open: function () { post("open"); },
    close: function () { post("close"); },
    identify: function (who) { post("identify", who || {}); },
    on: function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); return api; },
    off: function (name, fn) {
      handlers[name] = (handlers[name] || []).filter(function (h) { return h !== fn; });
      return api;
    }
  };
  window.Sportello = api;
  queue.forEach(function (call) { if (api[call[0]]) api[call[0]].apply(api, call[1] || []); });

  function place() {
    if (!frame) return;
    var side = config.position === "left" ? "left" : "right";
    var phone = window.innerWidth < 520;
    var css = "position:fixed;border:0;z-index:2147483000;background:transparent;color-scheme:normal;" +
      "display:block;visibility:visible;opacity:1;margin:0;padding:0;max-width:none;max-height:none;";
    if (state.open && phone) {
      css += "top:0;left:0;width:100%;height:100%;";
    } else if (state.open) {
      css += "bottom:16px;" + side + ":16px;width:380px;height:min(620px,calc(100% - 32px));";
    } else {
      css += "bottom:16px;" + side + ":16px;width:" + (config.launcher_text ? 240 : 88) + "px;height:88px;";
    }
    // Inline !important rules beat any stylesheet of the host page.
    frame.style.cssText = css.replace(/;/g, " !important;");
    post("layout", { full: state.open && phone });
  }

  window.addEventListener("message", function (event) {
    if (!frame || event.source !== frame.contentWindow || event.origin !== base) return;
    var msg = event.data;
    if (!msg || msg.sportello !== 1) return;
    if (msg.type === "ready") {
      ready = true;
      pending.splice(0).forEach(function (p) { post(p[0], p[1]); });
    } else if (msg.type === "state") {
      state.open = !!msg.open;
      place();
      if (msg.open) emit("open", {});
      else emit("close", {});
    } else if (msg.type === "message") {
      emit("message", msg.data);
    }
  });
  window.addEventListener("resize", place);

  function build(cfg) {
    config = cfg;
    frame = document.createElement("iframe");
    frame.title = cfg.title || "Chat";
    frame.setAttribute("allow", "clipboard-write");
    var lang = (navigator.language || "en").slice(0, 2);
    frame.src = cfg.frame_url + "?o=" + encodeURIComponent(location.origin) + "&lang=" + lang;
    place();
    (document.body || document.documentElement).appendChild(frame);
  }

  if (!key || !window.fetch) return;
  fetch(base + "/widget/" + encodeURIComponent(key) + "/config.json?lang=" +
        encodeURIComponent(navigator.language || ""), { credentials: "omit", mode: "cors" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (cfg) { if (cfg && cfg.frame_url) build(cfg); })
    .catch(function () { /* help desk unreachable: the page carries on without a chat */ });
})();
