// The share page's own script (no dependency): copy buttons, the phone's share sheet where the
// browser has one, and a count of each share action (no cookie, nothing personal: the code and
// the channel). Without it the page still works: the code and link can be selected, the share
// links are plain links.
(function () {
  "use strict";
  var status = document.getElementById("share-status");
  var view = document.body.getAttribute("data-view");

  function say(text) {
    if (status) { status.textContent = text; }
  }

  function count(channel) {
    var shareCode = document.body.getAttribute("data-code");
    if (!shareCode || !navigator.sendBeacon) { return; }
    var body = JSON.stringify({ code: shareCode, channel: channel, view: view });
    navigator.sendBeacon("/share-events", new Blob([body], { type: "text/plain" }));
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    var item = button.closest("li");
    if (item) { item.hidden = false; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
        say(document.body.getAttribute("data-copied"));
        count(button.getAttribute("data-channel"));
      }, function () {
        say(document.body.getAttribute("data-copy-failed"));
      });
    });
  });

  document.querySelectorAll("[data-share]").forEach(function (button) {
    if (!navigator.share) { return; }
    button.closest("li").hidden = false;
    button.addEventListener("click", function () {
      var shared = {
        title: button.getAttribute("data-title"),
        text: button.getAttribute("data-text"),
        url: button.getAttribute("data-url")
      };
      navigator.share(shared).then(function () { count("native"); }, function () {});
    });
  });

  document.querySelectorAll("a[data-channel]").forEach(function (link) {
    link.addEventListener("click", function () { count(link.getAttribute("data-channel")); });
  });
})();
