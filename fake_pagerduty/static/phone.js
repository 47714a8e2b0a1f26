// The on-call phone: its feed is a live list (console.js swaps it when the account changes); when a newer
// notification came with it, the phone buzzes. The feed names its newest notification by its log entry's id
// (never used again, where a notification's number starts again after a reset, which the live feed may not
// see): a newest id that changes to another one (not to none) is a new notification. Without JavaScript the
// page is plain forms and a reload.
(function () {
  "use strict";
  var phone = document.getElementById("phone");
  var feed = document.getElementById("phone-feed");
  if (!phone || !feed) return;
  var newest = function () {
    var list = feed.querySelector("[data-newest]");
    return list ? list.getAttribute("data-newest") || "" : "";
  };
  var seen = newest();
  feed.addEventListener("live:updated", function () {
    var now = newest();
    if (now !== "" && now !== seen) {
      phone.classList.remove("buzz");
      void phone.offsetWidth;  // restart the animation
      phone.classList.add("buzz");
      if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
    }
    seen = now;
  });
})();
