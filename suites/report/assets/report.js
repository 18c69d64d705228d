// sncheck report: filter the results by state, and show a timeline
// marker's details under its lane. The page reads fine without it.
(function () {
  "use strict";
  var buttons = document.querySelectorAll(".filters button");
  function filter(state) {
    buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.filter === state)); });
    document.querySelectorAll("tr.result").forEach(function (tr) {
      tr.classList.toggle("hidden", state !== "all" && tr.dataset.state !== state);
    });
    document.querySelectorAll(".group").forEach(function (g) {
      g.classList.toggle("empty", g.querySelectorAll("tr.result:not(.hidden)").length === 0);
    });
  }
  buttons.forEach(function (b) { b.addEventListener("click", function () { filter(b.dataset.filter); }); });
  document.querySelectorAll(".count[data-filter]").forEach(function (a) {
    a.addEventListener("click", function () { if (a.dataset.filter !== "failed") { filter(a.dataset.filter); } });
  });

  function show(ev, pin) {
    var lane = ev.closest(".lane");
    var detail = lane && lane.querySelector(".lane-detail");
    var title = ev.querySelector("title");
    if (!detail || !title) { return; }
    if (pin) {
      lane.querySelectorAll(".ev.selected").forEach(function (e) { e.classList.remove("selected"); });
      ev.classList.add("selected");
    }
    detail.textContent = title.textContent;
  }
  document.querySelectorAll(".lane .ev").forEach(function (ev) {
    ev.addEventListener("mouseenter", function () { show(ev, false); });
    ev.addEventListener("focus", function () { show(ev, true); });
    ev.addEventListener("click", function () { show(ev, true); });
    ev.addEventListener("mouseleave", function () {
      var sel = ev.closest(".lane").querySelector(".ev.selected");
      if (sel) { show(sel, false); } else { ev.closest(".lane").querySelector(".lane-detail").textContent = ""; }
    });
  });
})();
