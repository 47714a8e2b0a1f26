// The on-call phone: ask every second whether the person's account changed (204 = no); swap the feed when it
// did, and buzz when a newer notification arrived. Without JavaScript the page is plain forms and a reload.
(function () {
  "use strict";
  var phone = document.getElementById("phone");
  var feed = document.getElementById("phone-feed");
  if (!phone || !feed || !window.fetch) return;
  var note = document.querySelector("[data-live-state]");
  var newest = function () {
    var list = feed.querySelector("[data-newest]");
    return list ? parseInt(list.getAttribute("data-newest"), 10) || 0 : 0;
  };
  var busy = false;
  var timer = window.setInterval(function () {
    if (busy || document.hidden) return;
    busy = true;
    var before = newest();
    fetch(phone.dataset.liveUrl + "?v=" + encodeURIComponent(phone.dataset.version), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 404) { window.clearInterval(timer); throw new Error("gone"); }
        if (response.status === 204) return null;
        if (!response.ok) throw new Error("HTTP " + response.status);
        var version = response.headers.get("X-Console-Version");
        return response.text().then(function (html) {
          feed.innerHTML = html;
          if (version) phone.dataset.version = version;
          if (newest() > before) {
            phone.classList.remove("buzz");
            void phone.offsetWidth;  // restart the animation
            phone.classList.add("buzz");
            if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
          }
        });
      })
      .then(function () { if (note) { note.classList.remove("stale"); note.textContent = "Live: new notifications appear by themselves."; } })
      .catch(function () { if (note) { note.classList.add("stale"); note.textContent = "Live updates paused; reload the page."; } })
      .then(function () { busy = false; });
  }, 1000);
})();
