// Firebreak's only script: live timeline, countdowns. Every form works without it.
(function () {
  "use strict";

  function words(seconds) {
    var s = Math.abs(Math.round(seconds));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (s < 60) return s + " s";
    if (s < 3600) return m + " min";
    if (d === 0) return h + " h " + String(m).padStart(2, "0") + " min";
    return d + " d " + h + " h";
  }

  // No inline handlers (the Content-Security-Policy allows none): buttons say what they do.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  function tick() {
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var left = (due - Date.now()) / 1000;
      el.textContent = left < 0 ? "overdue by " + words(left) : "due in " + words(left);
      el.classList.toggle("overdue", left < 0);
    });
  }
  tick();
  setInterval(tick, 1000);

  var timeline = document.getElementById("timeline");
  if (!timeline || !window.EventSource) return;
  var state = document.getElementById("live-state");
  var source = timeline.getAttribute("data-live");
  var lastSeq = Number(timeline.getAttribute("data-last-seq") || "0");
  var headerKinds = ["status_changed", "severity_changed", "role_assigned", "role_unassigned",
    "update_posted", "details_changed", "member_added", "timestamp_asserted",
    "freeze_started", "freeze_ended", "participant_joined", "participant_left",
    "roles_required", "cadence_set"];
  // Events that change the room's panels (actions): simplest is to reload the page when
  // the reader is not typing.
  var panelKinds = ["action_proposed", "action_approved", "action_rejected", "action_started",
    "action_finished", "playbook_added", "task_added", "task_assigned", "task_closed",
    "task_reopened", "participant_joined", "participant_left", "stakeholder_added",
    "stakeholder_removed", "thanked"];
  var es = null, retry = 1000;

  function say(text) { if (state) state.textContent = text; }

  function refreshHeader() {
    var head = document.getElementById("room-head");
    if (!head) return;
    fetch(head.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html) { head.outerHTML = html; tick(); } })
      .catch(function () {});
  }

  function refreshPanels() {
    // Re-read the room and swap in its action, task and people panels, unless someone is
    // typing in one.
    var active = document.activeElement;
    if (active && active.closest && active.closest(".action, .task, #people-panel")) return;
    fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelectorAll(".action");
        var old = document.querySelectorAll(".action");
        old.forEach(function (el) { el.remove(); });
        var anchor = document.getElementById("actions-heading");
        var place = anchor;
        fresh.forEach(function (el) { place.after(el); place = el; });
        var tasks = document.querySelector("ol.tasks");
        var freshTasks = page.querySelector("ol.tasks");
        if (tasks && freshTasks) tasks.replaceWith(freshTasks);
        var people = document.getElementById("people-panel");
        var freshPeople = page.getElementById("people-panel");
        if (people && freshPeople) people.replaceWith(freshPeople);
        var empty = document.getElementById("actions-empty");
        if (empty && fresh.length) empty.remove();
      })
      .catch(function () {});
  }

  function connect() {
    // After a blip, resume from the last event we showed; the server sends what we missed.
    es = new EventSource(source + "?after=" + lastSeq);
    es.onopen = function () { retry = 1000; say("Live"); };
    es.addEventListener("timeline", function (msg) {
      var seq = Number(msg.lastEventId);
      if (seq <= lastSeq) return;
      lastSeq = seq;
      var holder = document.createElement("ol");
      holder.innerHTML = msg.data;
      var item = holder.firstElementChild;
      if (!item) return;
      item.classList.add("new");
      timeline.appendChild(item);
      timeline.setAttribute("data-last-seq", String(lastSeq));
      var empty = document.getElementById("timeline-empty");
      if (empty) empty.remove();
      var kind = item.getAttribute("data-kind");
      if (headerKinds.indexOf(kind) >= 0) refreshHeader();
      if (panelKinds.indexOf(kind) >= 0) refreshPanels();
    });
    es.onerror = function () {
      say("Reconnecting…");
      es.close();
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }
  connect();
})();
