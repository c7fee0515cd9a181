// tagflow status page: keeps the page current as the engine's events arrive
// (server-sent events from /api/v1/events) by fetching the page's main part again.
"use strict";
(function () {
  var main = document.getElementById("main");
  var live = document.getElementById("live");
  if (!main || !window.EventSource) {
    if (live) live.textContent = "not live: reload to update";
    return;
  }
  var pending = false, running = false;
  function refresh() {
    if (running) { pending = true; return; }
    running = true;
    fetch(window.location.href, { headers: { "X-Tagflow-Fragment": "1" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(function (html) {
        main.innerHTML = html;
        document.body.dataset.updates = String(Number(document.body.dataset.updates || "0") + 1);
      })
      .catch(function (e) { live.textContent = "update failed: " + e.message; })
      .finally(function () {
        running = false;
        if (pending) { pending = false; setTimeout(refresh, 250); }
      });
  }
  var timer = null;
  function soon() {
    // Many events come together (a scan, an evaluation and a push): one fetch for them.
    if (timer) return;
    timer = setTimeout(function () { timer = null; refresh(); }, 200);
  }
  var source = new EventSource("/api/v1/events");
  source.addEventListener("open", function () { live.textContent = "live"; live.className = "live on"; });
  source.addEventListener("error", function () { live.textContent = "reconnecting…"; live.className = "live"; });
  source.addEventListener("event", soon);
  source.addEventListener("resync", soon);
})();
