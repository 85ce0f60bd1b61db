/* The demo shop page using the widget's JavaScript API, as a host site would. */
(function () {
  "use strict";
  var button = document.getElementById("open-chat");
  if (button) button.addEventListener("click", function () { if (window.Sportello) window.Sportello.open(); });
})();
