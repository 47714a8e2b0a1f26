// The on-call phone: its feed is a live list (console.js swaps it when the account changes); when a newer
// notification came with it, the phone buzzes. A notification's id is its log entry's rowid, and ids start
// again after a reset: a newest id that changes to another (not to none) is a new notification. Without
// JavaScript the page is plain forms and a reload.
(function () {
  "use strict";
  var phone = document.getElementById("phone");
  var feed = document.getElementById("phone-feed");
  if (!phone || !feed) return;
  var newest = function () {
    var list = feed.querySelector("[data-newest]");
    return list ? parseInt(list.getAttribute("data-newest"), 10) || 0 : 0;
  };
  var seen = newest();
  feed.addEventListener("live:updated", function () {
    var now = newest();
    if (now !== 0 && now !== seen) {
      phone.classList.remove("buzz");
      void phone.offsetWidth;  // restart the animation
      phone.classList.add("buzz");
      if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
    }
    seen = now;
  });
})();
