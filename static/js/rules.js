// Sportello rules screen: keyboard submits for the rule form, and a confirmation before deleting.
// The page works without it: both buttons are plain submits.
(function () {
  "use strict";

  var form = document.querySelector("[data-rule-form]");

  function submitWith(intent) {
    var button = form.querySelector('button[name="intent"][value="' + intent + '"]');
    if (button) form.requestSubmit(button);
  }

  if (form) {
    form.addEventListener("keydown", function (event) {
      var mod = event.ctrlKey || event.metaKey;
      if (mod && event.key === "Enter") { event.preventDefault(); submitWith("preview"); return; }
      if (mod && (event.key === "s" || event.key === "S")) { event.preventDefault(); submitWith("save"); return; }
      // Enter in a field of the made-up message tries it, rather than saving the rule (the form's
      // first button).
      var target = event.target;
      if (event.key === "Enter" && target.tagName === "INPUT" && target.closest("[data-testid='rule-try']")) {
        event.preventDefault();
        submitWith("preview");
      }
    });
  }

  document.addEventListener("submit", function (event) {
    var question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
