// The Sandbox page: drives the JSON API under /_sandbox/ with fetch; polls the journal every second.
// No dependencies. Every value from the server is put in the page with textContent, never as HTML.
(function () {
  "use strict";

  var root = document.getElementById("sandbox");
  if (!root || !window.fetch) return;
  var tokenRequired = root.dataset.tokenRequired === "true";
  var TOKEN_KEY = "fake-pagerduty-sandbox-token";
  var statusLine = document.getElementById("sandbox-status");
  var journal = document.getElementById("journal");
  var journalEmpty = document.getElementById("journal-empty");
  var journalLive = document.getElementById("journal-live");
  var lastId = null;
  var polling = false;

  function token() { return window.sessionStorage.getItem(TOKEN_KEY) || ""; }

  function say(text, kind) {
    statusLine.textContent = text;
    statusLine.className = "sb-status " + (kind || "");
  }

  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (tokenRequired) headers["X-Sandbox-Token"] = token();
    var init = { method: method, headers: headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      return response.text().then(function (text) {
        var data = text ? JSON.parse(text) : null;
        if (!response.ok) {
          var error = (data && data.error) || { message: "HTTP " + response.status };
          var message = error.message + (error.errors ? ": " + error.errors.join("; ") : "");
          throw new Error(message);
        }
        return data;
      });
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function pretty(value, format) {
    if (format === "json") return JSON.stringify(value, null, 2);
    if (format === "empty") return "(empty)";
    if (format === "base64") return "(not UTF-8; base64) " + value;
    return String(value);
  }

  // ---- journal ----------------------------------------------------------------------------------------

  function journalItem(event) {
    var item = el("li");
    item.dataset.id = event.id;
    var details = el("details");
    var summary = el("summary");
    summary.appendChild(el("span", "sb-id", "#" + event.id));
    summary.appendChild(el("span", "outcome outcome-" + event.outcome, event.outcome));
    summary.appendChild(el("code", null, event.method + " " + event.path));
    summary.appendChild(el("span", "sb-detail", event.detail || ""));
    var time = el("time", "sb-time", event.received_at.replace("T", " ").replace("Z", " UTC"));
    time.setAttribute("datetime", event.received_at);
    summary.appendChild(time);
    details.appendChild(summary);
    var body = el("div", "sb-body");
    var request = el("div");
    request.appendChild(el("h4", null, "Request (" + event.api + ")"));
    request.appendChild(el("pre", "code", pretty(event.body, event.body_format)));
    var response = el("div");
    response.appendChild(el("h4", null, "Response " + (event.response.status || "— connection cut")));
    response.appendChild(el("pre", "code", pretty(event.response.body, event.response.body_format)));
    var meta = {
      routing_key: event.routing_key, dedup_key: event.dedup_key, action: event.action,
      incident_id: event.incident_id, fault_id: event.fault_id, warnings: event.warnings
    };
    response.appendChild(el("h4", null, "Details"));
    response.appendChild(el("pre", "code", JSON.stringify(meta, null, 2)));
    body.appendChild(request);
    body.appendChild(response);
    details.appendChild(body);
    item.appendChild(details);
    return item;
  }

  function showEvents(events, fresh) {
    // `events` oldest first; each goes on top.
    events.forEach(function (event) {
      var item = journalItem(event);
      if (fresh) item.classList.add("fresh");
      journal.insertBefore(item, journal.firstChild);
      lastId = Math.max(lastId || 0, event.id);
    });
    while (journal.children.length > 500) journal.removeChild(journal.lastChild);
    journalEmpty.hidden = journal.children.length > 0;
  }

  function loadJournal() {
    return api("GET", "/_sandbox/events?limit=100").then(function (page) {
      journal.textContent = "";
      lastId = page.last_event_id;
      showEvents(page.events.slice().reverse(), false);
      lastId = page.last_event_id;
    });
  }

  function poll() {
    if (polling || document.hidden || lastId === null) return;
    polling = true;
    api("GET", "/_sandbox/events?order=asc&limit=200&after_id=" + lastId)
      .then(function (page) {
        showEvents(page.events, true);
        journalLive.classList.remove("stale");
        journalLive.textContent = "Live: new requests appear here as they arrive.";
      })
      .catch(function (error) {
        journalLive.classList.add("stale");
        journalLive.textContent = "Live updates paused: " + error.message;
      })
      .then(function () { polling = false; });
  }

  // ---- faults, rate limits, clock ---------------------------------------------------------------------------

  function describeMatch(match) {
    var parts = [];
    parts.push(match.endpoint === "any" ? "any endpoint" : match.endpoint);
    if (match.routing_key) parts.push("key " + match.routing_key);
    if (match.path) parts.push(match.path);
    return parts.join(", ");
  }

  function describeEffect(rule) {
    var parts = [];
    if (rule.latency_ms) parts.push("wait " + rule.latency_ms + " ms");
    if (rule.disconnect) parts.push("cut the connection");
    else if (rule.status) parts.push("answer " + rule.status);
    if (rule.probability < 1) parts.push("p=" + rule.probability);
    return parts.join(", then ");
  }

  function showFaults(rules) {
    var rows = document.getElementById("fault-rows");
    rows.textContent = "";
    if (!rules.length) {
      var empty = el("tr", "empty");
      var cell = el("td", null, "No faults: requests are handled normally.");
      cell.colSpan = 5;
      empty.appendChild(cell);
      rows.appendChild(empty);
      return;
    }
    rules.forEach(function (rule) {
      var row = el("tr");
      var name = el("td");
      name.appendChild(el("code", null, rule.id));
      if (rule.label) name.appendChild(el("div", "hint", rule.label));
      row.appendChild(name);
      row.appendChild(el("td", null, describeMatch(rule.match)));
      row.appendChild(el("td", null, describeEffect(rule)));
      row.appendChild(el("td", "num", rule.fired + (rule.count ? " of " + rule.count : "")));
      var actions = el("td", "row-actions");
      var remove = el("button", "secondary small", "Remove");
      remove.type = "button";
      remove.setAttribute("aria-label", "Remove fault " + rule.id);
      remove.addEventListener("click", function () {
        run(api("DELETE", "/_sandbox/faults/" + encodeURIComponent(rule.id)), "Removed fault " + rule.id);
      });
      actions.appendChild(remove);
      row.appendChild(actions);
      rows.appendChild(row);
    });
  }

  function showRateLimits(limits) {
    document.getElementById("rate-limits").checked = limits.enabled;
    document.getElementById("rate-limits-hint").textContent =
      "(" + limits.limit + " events per " + limits.window_seconds + " s per routing key)";
  }

  function showClock(clock) {
    var now = document.getElementById("clock-now");
    now.textContent = clock.now.replace("T", " ").replace("Z", " UTC");
    now.setAttribute("datetime", clock.now);
    var minutes = Math.round(clock.offset_seconds / 60);
    document.getElementById("clock-offset").textContent =
      clock.offset_seconds ? "(" + minutes + " min ahead of real time)" : "(real time)";
  }

  // ---- partner apps -----------------------------------------------------------------------------------------

  var form = document.getElementById("app-form");

  function fillForm(app) {
    form.elements.vendor_key.value = app.vendor_key;
    form.elements.name.value = app.name;
    form.elements.app_id.value = app.app_id;
    form.elements.callback_origins.value = (app.callback_origins || []).join("\n");
    form.elements.webhook_url.value = app.webhook_url || "";
    form.elements.webhook_secret.value = app.webhook_secret || "";
    form.elements.name.focus();
  }

  function showApps(apps) {
    var rows = document.getElementById("app-rows");
    rows.textContent = "";
    apps.forEach(function (app) {
      var row = el("tr");
      var key = el("td");
      key.appendChild(el("code", null, app.vendor_key));
      row.appendChild(key);
      row.appendChild(el("td", null, app.name));
      row.appendChild(el("td", null, app.app_id));
      row.appendChild(el("td", "title", app.webhook_url || "—"));
      var actions = el("td", "row-actions");
      var edit = el("button", "secondary small", "Edit");
      edit.type = "button";
      edit.setAttribute("aria-label", "Edit " + app.vendor_key);
      edit.addEventListener("click", function () { fillForm(app); });
      var remove = el("button", "secondary small", "Delete");
      remove.type = "button";
      remove.setAttribute("aria-label", "Delete " + app.vendor_key);
      remove.addEventListener("click", function () {
        if (!window.confirm("Delete partner app " + app.vendor_key + "?")) return;
        run(api("DELETE", "/_sandbox/partner-apps/" + encodeURIComponent(app.vendor_key)),
          "Deleted partner app " + app.vendor_key);
      });
      actions.appendChild(edit);
      actions.appendChild(remove);
      row.appendChild(actions);
      rows.appendChild(row);
    });
  }

  function uriCell(uris) {  // may break after a slash (<wbr>), as in the page as served
    var cell = el("td");
    uris.forEach(function (uri) {
      var code = el("code", "sb-uri");
      uri.split("/").forEach(function (part, i, parts) {
        code.appendChild(document.createTextNode(part + (i < parts.length - 1 ? "/" : "")));
        if (i < parts.length - 1) code.appendChild(document.createElement("wbr"));
      });
      cell.appendChild(code);
    });
    return cell;
  }

  function scopeCell(scopes) {
    var cell = el("td", null, scopes.length ? null : "\u2014");
    scopes.forEach(function (scope) { cell.appendChild(el("span", "sb-scope", scope)); });
    return cell;
  }

  function showOAuthApps(apps) {
    var rows = document.getElementById("oauth-app-rows");
    rows.textContent = "";
    apps.forEach(function (app) {
      var row = el("tr");
      var id = el("td");
      id.appendChild(el("code", null, app.client_id));
      [id, el("td", null, app.name), el("td", null, app.kind), el("td", null, app.client_type),
        uriCell(app.redirect_uris || []), scopeCell(app.scopes || [])].forEach(function (cell) {
        row.appendChild(cell);
      });
      rows.appendChild(row);
    });
    document.getElementById("oauth-apps-empty").hidden = apps.length > 0;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var vendorKey = form.elements.vendor_key.value.trim();
    var body = {};
    if (form.elements.name.value.trim()) body.name = form.elements.name.value.trim();
    if (form.elements.app_id.value.trim()) body.app_id = form.elements.app_id.value.trim();
    var origins = form.elements.callback_origins.value.split("\n").map(function (s) { return s.trim(); })
      .filter(Boolean);
    if (origins.length) body.callback_origins = origins;
    body.webhook_url = form.elements.webhook_url.value.trim() || null;
    body.webhook_secret = form.elements.webhook_secret.value || null;
    run(api("PUT", "/_sandbox/partner-apps/" + encodeURIComponent(vendorKey), body),
      "Saved partner app " + vendorKey);
  });

  // ---- wiring -----------------------------------------------------------------------------------------------

  function refresh() {
    return Promise.all([
      api("GET", "/_sandbox/faults").then(function (d) { showFaults(d.faults); }),
      api("GET", "/_sandbox/rate-limits").then(showRateLimits),
      api("GET", "/_sandbox/clock").then(showClock),
      api("GET", "/_sandbox/partner-apps").then(function (d) { showApps(d.partner_apps); }),
      api("GET", "/_sandbox/oauth-apps").then(function (d) { showOAuthApps(d.oauth_apps); })
    ]);
  }

  function run(promise, done) {
    return promise.then(function (result) {
      say(done, "ok");
      return refresh().then(function () { return result; });
    }).catch(function (error) { say(error.message, "error"); });
  }

  function faultCount() {
    var value = parseInt(document.getElementById("fault-count").value, 10);
    return value > 0 ? value : null;
  }

  root.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || !root.contains(button)) return;
    if (button.dataset.fault) {
      var rule = JSON.parse(button.dataset.fault);
      rule.count = faultCount();
      run(api("POST", "/_sandbox/faults", rule), "Added fault: " + rule.label);
      return;
    }
    switch (button.dataset.action) {
      case "clear-faults":
        run(api("DELETE", "/_sandbox/faults"), "Faults cleared");
        break;
      case "advance-clock":
        var minutes = parseFloat(document.getElementById("advance-minutes").value);
        if (!(minutes > 0)) { say("Give the minutes to advance by.", "error"); return; }
        run(api("POST", "/_sandbox/clock", { advance_seconds: minutes * 60 }).then(function (result) {
          return result;
        }), "Clock advanced " + minutes + " min").then(function (result) {
          if (result && result.applied.length) say("Clock advanced " + minutes + " min; " + result.applied.length +
            " incident change(s) applied", "ok");
        });
        break;
      case "reset":
      case "full-reset":
        var full = button.dataset.action === "full-reset";
        if (full && !window.confirm("Wipe everything, including accounts and partner apps, and seed again?")) return;
        if (!full && !window.confirm("Delete every incident, event and fault? Connected monitors keep alerts " +
            "whose incidents will no longer exist here.")) return;
        run(api("POST", "/_sandbox/reset" + (full ? "?full=true" : "")), full ? "Sandbox fully reset" : "Sandbox reset")
          .then(loadJournal);
        break;
      case "start-exam":
        var key = document.getElementById("exam-routing-key").value.trim();
        var seconds = parseFloat(document.getElementById("exam-duration").value);
        var examStatus = document.getElementById("exam-status");
        api("POST", "/_sandbox/exam", { routing_key: key, duration_seconds: seconds }).then(function (data) {
          examStatus.textContent = "Exam " + data.exam.id + " started: send events with this key now. ";
          var link = el("a", null, "Follow the exam");
          link.href = data.exam.url;
          examStatus.appendChild(link);
          say("Exam started", "ok");
          return refresh();
        }).catch(function (error) { say(error.message, "error"); });
        break;
      case "save-token":
        window.sessionStorage.setItem(TOKEN_KEY, document.getElementById("sandbox-token").value);
        start();
        break;
    }
  });

  document.getElementById("rate-limits").addEventListener("change", function (event) {
    var on = event.target.checked;
    run(api("PUT", "/_sandbox/rate-limits", { enabled: on }), on ? "Rate limit on" : "Rate limit off");
  });

  function start() {
    Promise.all([refresh(), loadJournal()])
      .then(function () { say("", ""); })
      .catch(function (error) { say(error.message, "error"); });
  }

  start();
  window.setInterval(poll, 1000);
  window.setInterval(function () {
    if (!document.hidden) api("GET", "/_sandbox/clock").then(showClock).catch(function () {});
  }, 15000);
})();
