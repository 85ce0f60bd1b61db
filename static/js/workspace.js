// Sportello agent workspace: keyboard shortcuts, list navigation, composer helpers. No dependencies.
(function () {
  "use strict";

  function isTyping(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  // --- ticket list: j/k selection, Enter opens, click anywhere on a row opens -----------------------
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-ticket-row]")); }

  function select(index) {
    var all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row) { row.classList.remove("is-selected"); });
    all[index].classList.add("is-selected");
    all[index].scrollIntoView({ block: "nearest" });
  }

  function selectedIndex() {
    return rows().findIndex(function (row) { return row.classList.contains("is-selected"); });
  }

  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("[data-ticket-row]");
    if (row && !event.target.closest("a, button, input, select")) window.location.href = row.dataset.href;
  });

  // --- the ticket screen remembers the list it was opened from, for j/k and "back" ---------------
  var LIST_KEY = "sportello.list";
  var conversation = document.querySelector("[data-ticket-id]");

  function rememberList() {
    var ids = rows().map(function (row) { return row.dataset.ticketRow; });
    try {
      sessionStorage.setItem(LIST_KEY, JSON.stringify({ url: location.pathname + location.search, ids: ids }));
    } catch (e) { /* storage disabled: j/k on the ticket screen simply do nothing */ }
  }

  function rememberedList() {
    try { return JSON.parse(sessionStorage.getItem(LIST_KEY) || "null"); } catch (e) { return null; }
  }

  function neighbour(step) {
    var list = rememberedList();
    if (!list || !conversation) return;
    var index = list.ids.indexOf(conversation.dataset.ticketId);
    var next = index < 0 ? undefined : list.ids[index + step];
    if (next) window.location.href = "/tickets/" + encodeURIComponent(next) + "/";
  }

  if (document.querySelector("[data-live-list]")) rememberList();
  if (conversation) {
    var list = rememberedList();
    var back = document.querySelector("a.back");
    if (list && back && list.ids.indexOf(conversation.dataset.ticketId) >= 0) back.href = list.url;
  }

  // --- help overlay -------------------------------------------------------------------------------
  function help() { return document.getElementById("shortcuts-help"); }
  function toggleHelp(show) {
    var box = help();
    if (!box) return;
    box.hidden = show === undefined ? !box.hidden : !show;
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcut-help]")) toggleHelp();
    else if (event.target === help()) toggleHelp(false);
  });

  // --- composer: reply or note, canned responses ----------------------------------------------------
  function composer() { return document.getElementById("composer"); }

  function setMode(mode) {
    var form = composer();
    if (!form) return;
    var radio = form.querySelector('input[name="mode"][value="' + mode + '"]');
    if (radio) radio.checked = true;
    form.dataset.mode = mode;
    replyWindowShow();
    form.querySelector("textarea").focus();
  }

  function cannedResponses() {
    var data = document.getElementById("canned-responses");
    try { return data ? JSON.parse(data.textContent) : []; } catch (e) { return []; }
  }

  // The "/word" right before the caret, if any.
  function shortcutBeforeCaret(textarea) {
    var before = textarea.value.slice(0, textarea.selectionStart);
    var match = /(^|\s)\/([\w-]+)$/.exec(before);
    return match ? { word: match[2], start: before.length - match[2].length - 1 } : null;
  }

  function expandCanned(textarea) {
    var found = shortcutBeforeCaret(textarea);
    if (!found) return false;
    var response = cannedResponses().find(function (item) { return item.shortcut === found.word; });
    if (!response) return false;
    var end = textarea.selectionStart;
    textarea.value = textarea.value.slice(0, found.start) + response.body + textarea.value.slice(end);
    var caret = found.start + response.body.length;
    textarea.setSelectionRange(caret, caret);
    showHint(textarea);
    return true;
  }

  function showHint(textarea) {
    var hint = document.querySelector("[data-canned-hint]");
    if (!hint) return;
    var found = shortcutBeforeCaret(textarea);
    if (!found) { hint.textContent = ""; return; }
    var matches = cannedResponses().filter(function (item) { return item.shortcut.indexOf(found.word) === 0; });
    hint.textContent = matches.map(function (item) { return "/" + item.shortcut + " — " + item.title; }).join("   ");
  }

  document.addEventListener("change", function (event) {
    // Filters apply as soon as one is picked (no inline handlers: the page's CSP forbids them).
    if (event.target.matches && event.target.matches("[data-autosubmit]") && event.target.form) {
      event.target.form.submit();
      return;
    }
    if (event.target.name === "mode" && composer() && composer().contains(event.target)) {
      composer().dataset.mode = event.target.value;
      replyWindowShow();
    }
    if (event.target.name === "channel" && composer() && composer().contains(event.target)) replyWindowShow();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-switch-to-note]")) setMode("note");
  });

  // --- reply window: a channel that no longer takes replies says so, and Send waits for another choice
  function replyWindowShow() {
    var form = composer();
    if (!form) return;
    var select = form.querySelector('select[name="channel"]');
    var option = select && select.selectedOptions[0];
    var closed = !!(option && option.dataset.window === "closed");
    form.dataset.window = closed ? "closed" : "open";
    form.querySelectorAll("[data-reply-window-closed]").forEach(function (notice) {
      notice.hidden = !option || notice.dataset.replyWindowClosed !== option.value;
    });
    var send = form.querySelector('[data-testid="send"]');
    if (send) send.disabled = closed && form.dataset.mode === "reply";
  }
  replyWindowShow();
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("#composer textarea")) showHint(event.target);
  });

  // --- drafts: kept in this browser per ticket until the server has accepted them ------------------
  function draftKey() { return conversation ? "sportello.draft." + conversation.dataset.ticketId : null; }

  function draftSave(submitted) {
    var form = composer(), key = draftKey();
    if (!form || !key) return;
    var text = form.querySelector("textarea").value;
    var mode = form.dataset.mode || "reply";
    try {
      if (text.trim()) localStorage.setItem(key, JSON.stringify({ text: text, mode: mode, submitted: !!submitted }));
      else localStorage.removeItem(key);
    } catch (e) { /* storage full or disabled: nothing is lost but the autosave */ }
  }

  function draftRestore() {
    var form = composer(), key = draftKey();
    if (!form || !key) return;
    var draft;
    try { draft = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { draft = null; }
    if (!draft) return;
    // A submitted draft comes back only if the server refused it (the page then shows an error).
    if (draft.submitted && !document.querySelector(".flash-error")) { localStorage.removeItem(key); return; }
    var box = form.querySelector("textarea");
    if (box.value.trim()) return;
    box.value = draft.text;
    var radio = form.querySelector('input[name="mode"][value="' + draft.mode + '"]');
    if (radio) { radio.checked = true; form.dataset.mode = draft.mode; }
    draftSave(false);
  }

  var draftTimer = null;
  document.addEventListener("input", function (event) {
    if (!event.target.matches || !event.target.matches("#composer textarea")) return;
    clearTimeout(draftTimer);
    draftTimer = setTimeout(function () { draftSave(false); }, 300);
  });
  document.addEventListener("submit", function (event) {
    if (event.target.id === "composer") { clearTimeout(draftTimer); draftSave(true); }
  });
  draftRestore();

  // --- shortcuts ------------------------------------------------------------------------------------
  function submitForm(id) {
    var form = document.getElementById(id);
    var button = form && form.querySelector("button[type=submit]:not([disabled])");
    if (button) button.click();
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.matches && target.matches("#composer textarea") && (event.key === "Tab" || event.key === " ")) {
      if (expandCanned(target) && event.key === "Tab") event.preventDefault();
      else if (event.key === "Tab" && shortcutBeforeCaret(target)) event.preventDefault();
      return;
    }
    if (event.key === "Escape") {
      toggleHelp(false);
      if (isTyping(target)) target.blur();
      return;
    }
    if (isTyping(target) || event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key;
    if (key === "?") { toggleHelp(); event.preventDefault(); return; }
    if (key === "/") {
      var search = document.querySelector("[data-shortcut-search]");
      if (search) { search.focus(); search.select(); event.preventDefault(); }
      return;
    }
    if (key === "j") { if (conversation) neighbour(1); else select(selectedIndex() + 1); return; }
    if (key === "k") {
      if (conversation) neighbour(-1); else select(selectedIndex() < 0 ? 0 : selectedIndex() - 1);
      return;
    }
    if (key === "Enter" || key === "o") {
      var all = rows(), index = selectedIndex();
      if (index >= 0) window.location.href = all[index].dataset.href;
      return;
    }
    if (key === "r") { setMode("reply"); event.preventDefault(); return; }
    if (key === "n") { setMode("note"); event.preventDefault(); return; }
    if (key === "a") { submitForm("assign-me-form"); return; }
    if (key === "s") { submitForm("solve-form"); return; }
  });

  // --- confirmations -------------------------------------------------------------------------------
  // Forms that change more than one ticket (split, undo a contact merge) ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // --- the contact sidebar follows the ticket ------------------------------------------------------
  // live.js re-renders the actions bar on every ticket event. The bar carries a digest of what the
  // sidebar shows (identities, other tickets, suggestions, merges): when it changes, the sidebar is
  // re-read, so an undone contact merge shows on every agent's screen without a request per event.
  var actionsHolder = document.getElementById("ticket-actions");
  var sidebarTimer = null;
  function sidebarKey() {
    var bar = actionsHolder && actionsHolder.querySelector("[data-sidebar-key]");
    return bar ? bar.dataset.sidebarKey : "";
  }
  var shownSidebarKey = sidebarKey();
  function refreshSidebar() {
    var sidebar = document.getElementById("contact-sidebar");
    if (!sidebar || !sidebar.dataset.sidebarUrl) return;
    fetch(sidebar.dataset.sidebarUrl, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        var current = document.getElementById("contact-sidebar");
        if (html === null || !current) return;
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        if (holder.firstElementChild) current.replaceWith(holder.firstElementChild);
      })
      .catch(function () { /* the next event tries again */ });
  }
  if (actionsHolder && window.MutationObserver) {
    new MutationObserver(function () {
      var key = sidebarKey();
      if (!key || key === shownSidebarKey) return;
      shownSidebarKey = key;
      clearTimeout(sidebarTimer);
      sidebarTimer = setTimeout(refreshSidebar, 50);
    }).observe(actionsHolder, { childList: true });
  }

  // --- attachments in the composer -----------------------------------------------------------------
  var form = composer();
  var fileInput = form && form.querySelector("input[type=file][name=files]");
  var pending = [];
  function fileError(text) {
    var box = form.querySelector("[data-attachment-error]");
    box.textContent = text || "";
    box.hidden = !text;
  }
  function fileChips() {
    var list = form.querySelector("[data-attachment-chips]");
    list.innerHTML = "";
    pending.forEach(function (file, index) {
      var chip = document.createElement("li");
      chip.className = "chip";
      chip.dataset.testid = "attachment-chip";
      chip.appendChild(document.createTextNode(file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB) "));
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = "×";
      remove.setAttribute("aria-label", (form.dataset.removeLabel || "Remove") + " " + file.name);
      remove.dataset.testid = "attachment-remove";
      remove.addEventListener("click", function () { pending.splice(index, 1); syncFiles(); });
      chip.appendChild(remove);
      list.appendChild(chip);
    });
  }
  function syncFiles() {
    var transfer = new DataTransfer();
    pending.forEach(function (file) { transfer.items.add(file); });
    fileInput.files = transfer.files;
    fileChips();
  }
  function addFiles(files) {
    var maxFiles = Number(form.dataset.maxFiles), maxBytes = Number(form.dataset.maxBytes);
    var accepted = (form.dataset.accept || "").split(",").filter(Boolean);
    var refused = "";
    Array.prototype.forEach.call(files, function (file) {
      if (pending.length >= maxFiles) refused = form.dataset.tooMany;
      else if (file.size > maxBytes) refused = form.dataset.tooLarge + " " + file.name;
      else if (accepted.length && accepted.indexOf(file.type || "application/octet-stream") < 0) {
        refused = form.dataset.badType + " " + file.name;
      } else pending.push(file);
    });
    fileError(refused);
    syncFiles();
  }
  if (fileInput) {
    fileInput.addEventListener("change", function () {
      // The input is the list we keep: take what was picked, then put the whole list back.
      var picked = Array.prototype.slice.call(fileInput.files).filter(function (file) {
        return pending.indexOf(file) < 0;
      });
      addFiles(picked);
    });
    form.querySelector("[data-attach]").addEventListener("click", function () { fileInput.click(); });
    form.addEventListener("dragover", function (event) {
      event.preventDefault();
      form.classList.add("is-dropping");
    });
    form.addEventListener("dragleave", function () { form.classList.remove("is-dropping"); });
    form.addEventListener("drop", function (event) {
      event.preventDefault();
      form.classList.remove("is-dropping");
      if (event.dataTransfer && event.dataTransfer.files.length) addFiles(event.dataTransfer.files);
    });
  }

  window.Sportello = window.Sportello || {};
  window.Sportello.selectRow = select;
})();
