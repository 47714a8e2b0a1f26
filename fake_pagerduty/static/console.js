// The console's small behaviours: live incident rows (and the on-call phone's feed), copy buttons, more
// service-name fields.
// No dependencies; everything degrades to plain forms and links without JavaScript.
(function () {
  "use strict";

  // Live lists (the incidents, the on-call phone's feed): ask every second whether the account changed (204 =
  // no); swap the contents when it did, and tell the page ("live:updated": the phone buzzes).
  var rows = document.getElementById("incident-rows") || document.querySelector("[data-live-list]");
  if (rows && window.fetch) {
    var note = document.querySelector("[data-live-state]");
    var liveText = note ? note.textContent : "";
    var busy = false;
    var timer = window.setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      var base = rows.dataset.liveUrl;
      var url = base + (base.indexOf("?") < 0 ? "?" : "&") + "v=" + encodeURIComponent(rows.dataset.version);
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 401) { window.clearInterval(timer); throw new Error("signed out"); }
          if (response.status === 204) return null;
          if (!response.ok) throw new Error("HTTP " + response.status);
          var version = response.headers.get("X-Console-Version");
          return response.text().then(function (html) {
            rows.innerHTML = html;
            if (version) rows.dataset.version = version;
            rows.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
          });
        })
        .then(function () { if (note) { note.classList.remove("stale"); note.textContent = liveText; } })
        .catch(function () { if (note) { note.classList.add("stale"); note.textContent = "Live updates paused; reload the page."; } })
        .then(function () { busy = false; });
    }, 1000);
  }

  // An open incident page reloads when the incident changes (status, acknowledgement, resolution).
  var single = document.getElementById("incident-live");
  if (single && window.fetch) {
    var waiting = false;
    var poll = window.setInterval(function () {
      if (waiting || document.hidden) return;
      waiting = true;
      var url = single.dataset.liveUrl + "?v=" + encodeURIComponent(single.dataset.version);
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 401 || response.status === 404) { window.clearInterval(poll); return null; }
          if (response.status !== 200) return null;
          return response.json().then(function (state) {
            if (state.fingerprint !== single.dataset.fingerprint) { window.clearInterval(poll); window.location.reload(); }
            else { single.dataset.version = state.version; }
          });
        })
        .catch(function () { /* try again on the next tick */ })
        .then(function () { waiting = false; });
    }, 1000);
  }

  // Copy buttons: <button data-copy="text">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var text = button.getAttribute("data-copy");
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* nothing to do */ }
      document.body.removeChild(area);
    }
  });

  // Install flow: another "Service name" field.
  var add = document.querySelector("[data-add-service]");
  if (add) {
    var count = 1;
    add.addEventListener("click", function () {
      count += 1;
      var box = document.getElementById("new-services");
      var label = document.createElement("label");
      label.htmlFor = "service_name_" + count;
      label.textContent = "Service name " + count;
      var input = document.createElement("input");
      input.id = "service_name_" + count;
      input.name = "service_name";
      input.maxLength = 255;
      box.appendChild(label);
      box.appendChild(input);
      input.focus();
    });
  }

  // Forms that ask first (data-confirm, e.g. Revoke on "Authorized apps"); without JavaScript they just post.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
