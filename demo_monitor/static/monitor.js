// Demo Monitor: live updates over server-sent events and uPlot charts with threshold lines. Hand-written, small.
(function () {
  "use strict";
  var SEV_COLOURS = { critical: "#f85149", error: "#e8702a", warning: "#d29922", info: "#58a6ff" };
  var LINE = "#58a6ff";
  var charts = [];   // {metric, plot, data}
  var chartsEl = document.getElementById("charts");
  var dataEl = document.getElementById("chart-data");
  var server = chartsEl ? chartsEl.getAttribute("data-server") : null;
  var thresholds = {};
  var MAX_POINTS = 300;

  function thresholdPlugin(metric) {
    return { hooks: { draw: [function (u) {
      var lines = thresholds[metric] || [];
      var ctx = u.ctx;
      lines.forEach(function (t) {
        var y = u.valToPos(t.value, "y", true);
        if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) return;
        ctx.save();
        ctx.strokeStyle = SEV_COLOURS[t.severity] || "#f85149";
        ctx.setLineDash([6, 4]);
        ctx.lineWidth = 2 * devicePixelRatio;
        ctx.beginPath();
        ctx.moveTo(u.bbox.left, y);
        ctx.lineTo(u.bbox.left + u.bbox.width, y);
        ctx.stroke();
        ctx.restore();
      });
    }] } };
  }

  function yRange(metric) {
    return function (u, min, max) {
      var top = max;
      (thresholds[metric] || []).forEach(function (t) { top = Math.max(top, t.value * 1.08); });
      if (metric.indexOf("_usage") > 0) return [0, Math.max(100, top)];
      return [0, top > 0 ? top * 1.1 : 1];
    };
  }

  function makeCharts(history) {
    if (!chartsEl || typeof uPlot === "undefined") return;
    charts.forEach(function (c) { c.plot.destroy(); });
    charts = [];
    var figs = chartsEl.querySelectorAll(".chart");
    figs.forEach(function (fig) {
      var metric = fig.getAttribute("data-metric");
      var data = [history.t.slice(), (history[metric] || []).slice()];
      var width = Math.max(280, fig.clientWidth - 12);
      var plot = new uPlot({
        width: width, height: 190,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: true }, y: { range: yRange(metric) } },
        axes: [{ stroke: "#8b9bab", grid: { stroke: "#222c36" } }, { stroke: "#8b9bab", grid: { stroke: "#222c36" }, size: 55 }],
        series: [{}, { stroke: LINE, width: 2, fill: "rgba(88,166,255,0.12)", points: { show: false } }],
        plugins: [thresholdPlugin(metric)]
      }, data, fig);
      charts.push({ metric: metric, plot: plot, data: data });
    });
  }

  function pushSample(t, values) {
    charts.forEach(function (c) {
      c.data[0].push(t);
      c.data[1].push(values[c.metric]);
      if (c.data[0].length > MAX_POINTS) { c.data[0].shift(); c.data[1].shift(); }
      c.plot.setData(c.data);
    });
  }

  if (dataEl) {
    try {
      var initial = JSON.parse(dataEl.textContent);
      thresholds = initial.thresholds || {};
      makeCharts(initial.history);
    } catch (e) { /* no charts, page still works */ }
  }

  // the dashboard's server picker: load that server's history and follow it live
  var picker = document.getElementById("featured-select");
  if (picker && chartsEl) {
    picker.addEventListener("change", function () {
      var name = picker.value;
      fetch("/api/servers/" + encodeURIComponent(name) + "/history")
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) {
          if (!d) return;
          server = name;
          thresholds = d.thresholds || thresholds;
          chartsEl.setAttribute("data-server", name);
          var link = document.getElementById("featured-name");
          if (link) { link.textContent = name; link.href = "/servers/" + encodeURIComponent(name); }
          makeCharts(d.history);
        });
    });
  }

  function setText(el, text) { if (el) el.textContent = text; }

  function onTick(msg) {
    var idx = {};
    msg.metrics.forEach(function (m, i) { idx[m] = i + 2; });
    var counts = { ok: 0, warning: 0, error: 0, critical: 0, info: 0 };
    var fleet = document.getElementById("fleet");
    msg.servers.forEach(function (row) {
      counts[row[1]] = (counts[row[1]] || 0) + 1;
      if (fleet) {
        var tile = fleet.querySelector('[data-server="' + row[0] + '"]');
        if (tile) {
          if (tile.className !== "tile status-" + row[1]) {
            tile.className = "tile status-" + row[1];
            setText(tile.querySelector("[data-status]"), row[1]);
          }
          setText(tile.querySelector('[data-m="memory_usage"]'), Math.round(row[idx.memory_usage]));
          setText(tile.querySelector('[data-m="cpu_usage"]'), Math.round(row[idx.cpu_usage]));
        }
      }
      if (row[0] === server) {
        var values = {};
        msg.metrics.forEach(function (m) { values[m] = row[idx[m]]; });
        pushSample(msg.t, values);
        document.querySelectorAll(".metrics [data-m]").forEach(function (el) {
          setText(el, values[el.getAttribute("data-m")]);
        });
        var dot = document.getElementById("server-status");
        if (dot) dot.className = "dot status-" + row[1];
      }
    });
    setText(document.getElementById("count-ok"), counts.ok);
    setText(document.getElementById("count-warning"), counts.warning + counts.error);
    setText(document.getElementById("count-critical"), counts.critical);
  }

  function deliveryText(d) {
    if (d.status === "retrying") return "retrying (" + d.attempts + ")";
    if (d.status === "not_sent") return "not sent";
    return d.status;
  }

  function badge(cls, text) {
    var s = document.createElement("span");
    s.className = "badge " + cls;
    s.textContent = text;
    return s;
  }

  function onAlerts(msg) {
    setText(document.getElementById("count-alerts"), msg.open.length);
    var list = document.getElementById("open-alerts");
    if (list) {
      list.textContent = "";
      if (!msg.open.length) {
        var li = document.createElement("li");
        li.className = "empty";
        li.textContent = "No open alerts. All quiet.";
        list.appendChild(li);
      }
      msg.open.forEach(function (a) {
        var li = document.createElement("li");
        li.className = "sev-" + a.severity;
        var link = document.createElement("a");
        link.href = "/alerts/" + encodeURIComponent(a.id);
        link.textContent = a.description;
        li.appendChild(link);
        li.appendChild(document.createTextNode(" "));
        li.appendChild(badge("state-" + a.state, a.state));
        if (a.state === "resolved" && a.condition === "active") {
          li.appendChild(document.createTextNode(" "));
          li.appendChild(badge("condition-active", "condition still active"));
        }
        li.appendChild(document.createTextNode(" "));
        var d = badge("delivery-" + a.delivery.status, deliveryText(a.delivery));
        d.title = a.delivery.reason || "";
        li.appendChild(d);
        if (a.pagerduty && a.pagerduty.text) {
          var pd = document.createElement("span");
          pd.className = "pd";
          pd.textContent = a.pagerduty.text;
          li.appendChild(pd);
        }
        list.appendChild(li);
      });
    }
    var detail = document.getElementById("alert");
    if (detail && (!msg.changed || msg.changed === detail.getAttribute("data-alert-id"))) {
      refreshAlert(detail.getAttribute("data-alert-id"));
    }
  }

  // An alert's own page: delivery progress is updated in place; a change of state (which changes the
  // buttons) or of the PagerDuty status reloads the page.
  var refreshing = false, refreshAgain = false;
  function refreshAlert(id) {
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    fetch("/api/alerts/" + encodeURIComponent(id), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (a) {
        if (!a) return;
        var shownState = document.getElementById("alert-state");
        var shownPd = document.getElementById("pd-status");
        var pdText = (a.pagerduty && a.pagerduty.text) || "";
        var shownPdText = shownPd ? shownPd.getAttribute("data-text") : "";
        if ((shownState && shownState.textContent.trim() !== a.state) || pdText !== shownPdText) {
          window.location.reload();
          return;
        }
        var cell = document.getElementById("delivery");
        if (cell) {
          cell.textContent = "";
          cell.appendChild(badge("delivery-" + a.delivery.status, deliveryText(a.delivery)));
          if ((a.delivery.status === "failed" || a.delivery.status === "retrying") && a.delivery.reason) {
            var reason = document.createElement("span");
            reason.className = "reason";
            reason.textContent = " " + a.delivery.reason;
            cell.appendChild(reason);
          }
        }
        var body = document.getElementById("events-body");
        if (body && a.events.length) {
          body.textContent = "";
          a.events.forEach(function (e) {
            var tr = document.createElement("tr");
            [e.event_type, null, String(e.attempts), when(e.created_at), e.sent_at ? when(e.sent_at) : "\u2014",
             e.last_error || e.note || ""].forEach(function (text, i) {
              var td = document.createElement("td");
              if (i === 1) td.appendChild(badge("delivery-" + e.status, e.status));
              else td.textContent = text;
              tr.appendChild(td);
            });
            body.appendChild(tr);
          });
        }
      })
      .catch(function () { /* the next change tries again */ })
      .then(function () {
        refreshing = false;
        if (refreshAgain) { refreshAgain = false; refreshAlert(id); }
      });
  }

  function when(iso) { return (iso || "").replace("T", " ").replace("Z", " UTC"); }

  function onIntegration(msg) {
    var b = document.getElementById("conn-badge");
    if (!b) return;
    b.className = "conn " + (msg.connected ? "conn-on" : "conn-off");
    b.textContent = msg.connected ? "PagerDuty: " + msg.service_name : "PagerDuty: not connected";
  }

  // While the monitor cannot be reached the page says so (EventSource reconnects by itself).
  var liveStatus = document.getElementById("live-status");
  function setLive(ok) {
    if (!liveStatus) return;
    liveStatus.textContent = ok ? "" : "Reconnecting\u2026";
    liveStatus.className = "live-status" + (ok ? "" : " stale");
  }

  var es = null;
  if (window.EventSource) {
    es = new EventSource("/api/stream");
    es.addEventListener("open", function () { setLive(true); });
    es.addEventListener("error", function () { setLive(false); });
    es.addEventListener("tick", function (e) { onTick(JSON.parse(e.data)); });
    es.addEventListener("alerts", function (e) { onAlerts(JSON.parse(e.data)); });
    es.addEventListener("integration", function (e) { onIntegration(JSON.parse(e.data)); });
  }

  // the Connect button image comes from PagerDuty; if it cannot load, the link's text shows instead
  document.querySelectorAll(".connect-button img").forEach(function (img) {
    function drop() { if (img.parentNode) img.parentNode.removeChild(img); }
    if (img.complete && img.naturalWidth === 0) drop();
    img.addEventListener("error", drop);
  });

  // forms that undo something ask first: <form data-confirm="Disconnect from PagerDuty?">
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // "3 minutes ago" stays true while the page is open (the exact time is in the title)
  function relative(iso) {
    var then = Date.parse(iso);
    if (isNaN(then)) return null;
    var delta = (Date.now() - then) / 1000, s = Math.abs(delta), text;
    if (s < 10) return "just now";
    function plural(n, unit) { n = Math.floor(n); return n + " " + unit + (n === 1 ? "" : "s"); }
    if (s < 60) text = plural(s, "second");
    else if (s < 3600) text = plural(s / 60, "minute");
    else if (s < 86400) text = plural(s / 3600, "hour");
    else text = plural(s / 86400, "day");
    return delta > 0 ? text + " ago" : "in " + text;
  }
  window.setInterval(function () {
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var text = relative(el.getAttribute("datetime"));
      if (text) setText(el, text);
    });
  }, 15000);

  // the alerts list reloads (at most every few seconds) when alerts change
  var reloadPending = false;
  if (document.body.getAttribute("data-page") === "alerts" && es) {
    es.addEventListener("alerts", function (e) {
      if (reloadPending || JSON.parse(e.data).snapshot) return;  // the snapshot is what the page shows
      reloadPending = true;
      setTimeout(function () { window.location.reload(); }, 1500);
    });
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (c) {
        var fig = c.plot.root.parentNode;
        c.plot.setSize({ width: Math.max(280, fig.clientWidth - 12), height: 190 });
      });
    }, 200);
  });
})();
