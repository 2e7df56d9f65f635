// Firebreak's only script: countdowns, the incident room's live timeline, composer tabs,
// drafts, remembered sections and keys. Every form works without it.
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

  var room = document.querySelector(".room[data-room]");
  var ref = room ? room.getAttribute("data-room") : "";

  function store(kind) {
    try { return window[kind]; } catch (e) { return null; }
  }
  function remember(kind, key, value) {
    var s = store(kind);
    if (!s) return;
    try { if (value === null) s.removeItem(key); else s.setItem(key, value); } catch (e) {}
  }
  function recall(kind, key) {
    var s = store(kind);
    try { return s ? s.getItem(key) : null; } catch (e) { return null; }
  }

  // The composer's tabs: Update, Note, Status / severity. Without script all three forms show.
  var tablist = document.querySelector("#composer [role=tablist]");
  var tabs = tablist ? Array.prototype.slice.call(tablist.querySelectorAll("[role=tab]")) : [];
  function selectTab(tab, focus) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(t.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    });
    remember("sessionStorage", "fb-tab-" + ref, tab.id);
    if (focus) tab.focus();
  }
  if (tablist) {
    tablist.hidden = false;
    var saved = document.getElementById(recall("sessionStorage", "fb-tab-" + ref) || "");
    selectTab(tabs.indexOf(saved) >= 0 ? saved : tabs[0], false);
    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function () { selectTab(tab, true); });
      tab.addEventListener("keydown", function (e) {
        var to = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : null;
        if (e.key === "Home") to = 0;
        if (e.key === "End") to = tabs.length - 1;
        if (to === null) return;
        e.preventDefault();
        selectTab(tabs[(to + tabs.length) % tabs.length], true);
      });
    });
  }
  // Opens the composer on a tab and puts the cursor in it (the header's Post update, keys).
  function compose(name) {
    var tab = document.getElementById("tab-" + name);
    if (tab && tabs.length) selectTab(tab, false);
    var panel = document.getElementById("compose-" + name);
    if (!panel) return false;
    var field = panel.querySelector("textarea, select");
    if (field) { field.focus(); field.scrollIntoView({ block: "nearest" }); }
    return true;
  }
  function openSection(id) {
    var section = document.getElementById(id);
    if (!section) return false;
    section.open = true;
    section.scrollIntoView({ block: "start" });
    var field = section.querySelector("select, input:not([type=hidden]), textarea, button");
    if (field) field.focus({ preventScroll: true });
    return true;
  }

  // Side sections open on demand and stay as the reader left them (in every room).
  function rememberOpen(section) {
    section.addEventListener("toggle", function () {
      remember("localStorage", "fb-open-" + section.id, section.open ? "1" : "0");
    });
  }
  document.querySelectorAll("details.side[id]").forEach(function (section) {
    var open = recall("localStorage", "fb-open-" + section.id);
    if (open !== null) section.open = open === "1";
    rememberOpen(section);
  });

  // A half-written update or note survives live refreshes, reloads and a failed post.
  document.querySelectorAll("form[data-draft]").forEach(function (form) {
    var fields = form.querySelectorAll("textarea[id], input[type=text][id]");
    fields.forEach(function (field) {
      var key = "fb-draft-" + ref + "-" + field.id;
      var draft = recall("sessionStorage", key);
      if (draft && !field.value) field.value = draft;
      field.addEventListener("input", function () { remember("sessionStorage", key, field.value || null); });
    });
    form.addEventListener("submit", function () {
      fields.forEach(function (field) { remember("sessionStorage", "fb-draft-" + ref + "-" + field.id, null); });
    });
  });

  if (room) {
    document.addEventListener("submit", function () { remember("sessionStorage", "fb-acted-" + ref, "1"); });
  }

  var help = document.getElementById("keys-help");
  document.addEventListener("click", function (e) {
    var target = e.target.closest ? e.target.closest("[data-compose], [data-open], [data-keys]") : null;
    if (!target) return;
    if (target.hasAttribute("data-compose") && compose(target.getAttribute("data-compose"))) e.preventDefault();
    if (target.hasAttribute("data-open") && openSection(target.getAttribute("data-open"))) e.preventDefault();
    if (target.hasAttribute("data-keys") && help && help.showModal) help.showModal();
  });
  function showKeysButton() {
    if (help && help.showModal) document.querySelectorAll("[data-keys]").forEach(function (b) { b.hidden = false; });
  }
  showKeysButton();
  if (room) {
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
      var t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(t.tagName) && t.type !== "submit" && t.type !== "button")) return;
      if (help && help.open) return;
      var done = false;
      if (e.key === "u") done = compose("update");
      else if (e.key === "n") done = compose("note");
      else if (e.key === "l") {
        var take = document.getElementById("take-lead");
        if (take) { take.click(); done = true; } else done = openSection("s-roles");
      } else if (e.key === "?" && help && help.showModal) { help.showModal(); done = true; }
      if (done) e.preventDefault();
    });
  }

  // What changed since the reader last looked at this room (kept in this browser).
  var timeline = document.getElementById("timeline");
  var seenKey = "fb-seen-" + ref;
  var sinceText = "";
  function markSeen() {
    if (!timeline || document.visibilityState === "hidden") return;
    remember("localStorage", seenKey, JSON.stringify({ seq: Number(timeline.getAttribute("data-last-seq") || "0"), at: new Date().toISOString() }));
  }
  function showSince() {
    var box = document.getElementById("since-you-looked");
    if (!box || !sinceText) return;
    box.textContent = sinceText;
    box.hidden = false;
  }
  if (timeline) {
    var before = null;
    try { before = JSON.parse(recall("localStorage", seenKey) || "null"); } catch (e) { before = null; }
    // Coming back from one's own post is not "catching up".
    var acted = recall("sessionStorage", "fb-acted-" + ref);
    remember("sessionStorage", "fb-acted-" + ref, null);
    if (before && typeof before.seq === "number" && !acted) {
      var fresh = Array.prototype.filter.call(document.querySelectorAll("ol.timeline li[data-seq]"), function (li) {
        return Number(li.getAttribute("data-seq")) > before.seq;
      });
      fresh.forEach(function (li) { li.classList.add("unseen"); });
      if (fresh.length) {
        var updates = fresh.filter(function (li) { return li.classList.contains("k-update_posted"); }).length;
        var keys = fresh.filter(function (li) { return li.classList.contains("key"); }).length;
        var at = new Date(before.at);
        sinceText = fresh.length + (fresh.length === 1 ? " event" : " events") + " since you last looked" +
          (isNaN(at) ? "" : " (" + at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + ")") +
          ": " + updates + (updates === 1 ? " update, " : " updates, ") + keys + (keys === 1 ? " key moment" : " key moments") +
          ". They are marked in the timeline.";
        showSince();
      }
    }
    markSeen();
    document.addEventListener("visibilitychange", markSeen);
  }

  if (!timeline || !window.EventSource) return;
  var state = document.getElementById("live-state");
  var source = timeline.getAttribute("data-live");
  var lastSeq = Number(timeline.getAttribute("data-last-seq") || "0");
  var headerKinds = ["status_changed", "severity_changed", "role_assigned", "role_unassigned",
    "update_posted", "details_changed", "member_added", "timestamp_asserted",
    "freeze_started", "freeze_ended", "participant_joined", "participant_left",
    "roles_required", "cadence_set", "call_link_set"];
  var es = null, retry = 1000;

  function say(text) { if (state) state.textContent = text; }

  function refreshHeader() {
    // The sticky header and the catch-up box, from one fragment.
    var head = document.getElementById("room-head");
    if (!head) return;
    fetch(head.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var page = new DOMParser().parseFromString(html, "text/html");
        ["room-head", "catch-up"].forEach(function (id) {
          var old = document.getElementById(id), fresh = page.getElementById(id);
          if (!old || !fresh) return;
          var open = old.querySelector("details[open]");
          if (open && fresh.querySelector("details")) fresh.querySelector("details").open = true;
          old.replaceWith(document.adoptNode(fresh));
        });
        showKeysButton();
        showSince();
        tick();
      })
      .catch(function () {});
  }

  function refreshPanels() {
    // Re-read the room and swap in the side sections that follow its lists (tasks, actions,
    // people), keeping what is open; a section someone is typing in is left alone.
    fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var page = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-refresh][id]").forEach(function (old) {
          var fresh = page.getElementById(old.id);
          if (!fresh) return;
          var active = document.activeElement;
          if (active && old.contains(active) && active.matches("input, textarea, select")) return;
          fresh.open = old.open;
          var openInside = Array.prototype.map.call(old.querySelectorAll("details[open]"), function (d, i) { return d.id || i; });
          fresh.querySelectorAll("details").forEach(function (d, i) { if (openInside.indexOf(d.id || i) >= 0) d.open = true; });
          if (fresh.matches("details.side")) rememberOpen(fresh);
          old.replaceWith(document.adoptNode(fresh));
        });
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
      timeline.insertBefore(item, timeline.firstChild);
      timeline.setAttribute("data-last-seq", String(lastSeq));
      markSeen();
      var empty = document.getElementById("timeline-empty");
      if (empty) empty.remove();
      var kind = item.getAttribute("data-kind");
      if (headerKinds.indexOf(kind) >= 0) refreshHeader();
      if (item.hasAttribute("data-lists")) refreshPanels();
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
