/* The guided run for the daily session. Without this file the session page is a plain checklist form;
 * with it, the same form becomes one step at a time with a hold timer per release spot, a moist-heat timer
 * and a timer per stretch. It only ever ticks the form's own checkboxes and fills its hidden duration
 * fields, so the server sees the same form either way.
 *
 * Every timer is computed from a start timestamp (Date.now() - start), never by counting ticks: browsers
 * throttle or stop timers in background tabs and on a locked phone, and the heat must still read 16:00
 * when the user comes back after 16 minutes. State lives in sessionStorage so a reload resumes the run.
 */
(function () {
  "use strict";

  var form = document.getElementById("session-form");
  if (!form || !window.sessionStorage) { return; }

  var ORDER = ["before", "release", "heat", "stretch", "after"];
  var LABELS = { before: "Before", release: "1 Release", heat: "2 Heat", stretch: "3 Stretch", after: "After" };
  var NEXT_LABEL = { before: "Start the release", release: "On to moist heat", heat: "On to the stretches",
                     stretch: "Rate your pain now" };
  var holdMin = Number(form.dataset.holdMin), holdMax = Number(form.dataset.holdMax);
  var heatMin = Number(form.dataset.heatMin) * 60, heatMax = Number(form.dataset.heatMax) * 60;
  var storeKey = "painreset.session." + form.dataset.sessionKey;
  var orderWhy = (document.getElementById("order-why") || {}).innerHTML || "";

  var sections = {};
  ORDER.forEach(function (name) { sections[name] = form.querySelector('[data-step="' + name + '"]'); });
  var items = { spot: [].slice.call(form.querySelectorAll('[data-kind="spot"]')),
                stretch: [].slice.call(form.querySelectorAll('[data-kind="stretch"]')) };

  var state = load() || freshState();
  state.acknowledged = state.acknowledged || {};

  // A new run starts from what the page already holds: after a refused post the server sends the form
  // back filled in, and its timed seconds must not be lost.
  function freshState() {
    var total = function (name) { return Number((form.querySelector('[data-total="' + name + '"]') || {}).value) || 0; };
    var heatBox = form.querySelector('input[name="heat_done"]');
    return { step: "before", items: {}, skipped: {}, acknowledged: {}, active: null, pain: {}, heatStart: null,
             heatDone: Boolean(heatBox && heatBox.checked),
             seconds: { release: total("release"), heat: total("heat"), stretch: total("stretch") } };
  }

  function now() { return Date.now(); }
  function save() { try { sessionStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode */ } }
  function load() {
    try { return JSON.parse(sessionStorage.getItem(storeKey) || "null"); } catch (e) { return null; }
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function button(text, cls, onClick) {
    var b = el("button", { type: "button", "class": cls || "" }, text);
    b.addEventListener("click", onClick);
    return b;
  }
  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }
  function countdown(seconds) { return clock(Math.ceil(seconds)); }  // 9.2 s left reads 0:10, not 0:09
  function announce(text) { live.textContent = text; }
  function checkbox(item) { return item.querySelector('input[type="checkbox"]'); }

  // --- The frame: a step bar, a live region, and the runner panel inside each timed step.
  form.classList.add("guided");
  form.noValidate = true;  // the guided run checks pain ratings itself and shows the step that needs one
  [].forEach.call(form.querySelectorAll("[data-nojs]"), function (node) { node.hidden = true; });
  var stepper = el("nav", { "class": "stepper", "aria-label": "Session steps" });
  var stepList = el("ol");
  ORDER.forEach(function (name) {
    var li = el("li");
    li.appendChild(button(LABELS[name], "step-tab", function () { go(name); }));
    li.firstChild.dataset.go = name;
    stepList.appendChild(li);
  });
  stepper.appendChild(stepList);
  form.insertBefore(stepper, form.firstChild);
  var live = el("p", { "class": "live", "aria-live": "polite", role: "status" });
  form.insertBefore(live, stepper.nextSibling);

  var warning = el("div", { "class": "order-warning", role: "alertdialog", "aria-labelledby": "order-title",
                            "aria-describedby": "order-text", hidden: "" });
  warning.appendChild(el("h3", { id: "order-title" }, "Order matters"));
  var warningText = el("p", { id: "order-text" });
  warning.appendChild(warningText);
  var warningBack = button("", "", function () { hideWarning(); go(warning.dataset.back, true); });
  var warningSkip = button("Skip ahead anyway", "secondary", function () {
    // Explained once is enough: the steps skipped here do not bring the warning back later in this run.
    var idx = ORDER.indexOf(warning.dataset.target);
    for (var i = 1; i < idx; i++) { if (!stepDone(ORDER[i])) { state.acknowledged[ORDER[i]] = true; } }
    hideWarning();
    go(warning.dataset.target, true);
  });
  warning.appendChild(warningBack);
  warning.appendChild(warningSkip);
  form.insertBefore(warning, live.nextSibling);

  var runners = {};
  ["release", "heat", "stretch"].forEach(function (name) {
    var panel = el("div", { "class": "runner", "data-runner": name });
    var why = sections[name].querySelector(".step-why");
    sections[name].insertBefore(panel, why ? why.nextSibling : sections[name].firstChild);
    runners[name] = panel;
  });
  ORDER.forEach(function (name) {
    if (name === "after") { return; }
    var nav = el("p", { "class": "step-next" });
    nav.appendChild(button(NEXT_LABEL[name] + " →", name === "before" ? "wide" : "wide secondary",
                           function () { next(name); }));
    sections[name].appendChild(nav);
    sections[name].querySelector("h2").setAttribute("tabindex", "-1");
  });
  sections.after.querySelector("h2").setAttribute("tabindex", "-1");

  // --- Step navigation and the out-of-order explanation.
  function stepDone(name) {
    if (name === "before") { return painValue("pain_before") !== null; }
    if (name === "release") { return pending("spot") === null; }
    if (name === "heat") { return state.heatDone; }
    if (name === "stretch") { return pending("stretch") === null; }
    return false;
  }
  function firstUndone(before) {
    var idx = ORDER.indexOf(before);
    for (var i = 1; i < idx; i++) { if (!stepDone(ORDER[i]) && !state.acknowledged[ORDER[i]]) { return ORDER[i]; } }
    return null;
  }
  function go(name, force) {
    var missing = firstUndone(name);
    if (!force && missing && ORDER.indexOf(name) > ORDER.indexOf(state.step)) {
      warning.dataset.target = name;
      warning.dataset.back = missing;
      warningText.innerHTML = orderWhy;
      warningBack.textContent = "Go back to " + LABELS[missing].replace(/^\d /, "").toLowerCase();
      warningOpener = document.activeElement;
      warning.hidden = false;
      warningBack.focus();
      return;
    }
    hideWarning();
    // Leaving a step abandons a hold or stretch in progress: its timer would otherwise finish off-screen.
    if (name !== state.step) { state.active = null; announce(""); }
    state.step = name;
    save();
    render();
    var heading = sections[name].querySelector("h2");
    if (heading) { heading.focus(); }
  }
  function hideWarning() { warning.hidden = true; }
  // Escape closes the explanation and stays on the current step, where the reader was before opening it.
  var warningOpener = null;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || warning.hidden) { return; }
    event.preventDefault();
    hideWarning();
    var back = warningOpener && document.contains(warningOpener) ? warningOpener : sections[state.step].querySelector("h2");
    if (back) { back.focus(); }
  });
  function next(name) {
    if (name === "before" && painValue("pain_before") === null) {
      announce("Pick a number from 0 to 10 first.");
      var first = sections.before.querySelector("input");
      if (first) { first.focus(); }
      return;
    }
    go(ORDER[ORDER.indexOf(name) + 1]);
  }

  // --- Items (release spots and stretches): one at a time, each with its own timer.
  function pending(kind) {
    for (var i = 0; i < items[kind].length; i++) {
      var slug = items[kind][i].dataset.item;
      if (!state.items[slug] && !state.skipped[slug] && !checkbox(items[kind][i]).checked) { return items[kind][i]; }
    }
    return null;
  }
  function targetSeconds(item) {
    if (item.dataset.kind === "spot") { return holdMax; }
    return Number(item.dataset.seconds) * (item.dataset.eachSide === "1" ? 2 : 1);
  }
  function startItem(item) {
    state.active = { slug: item.dataset.item, start: now() };
    save();
    render();
  }
  function finishItem(item, auto) {
    var kind = item.dataset.kind, total = kind === "spot" ? "release" : "stretch";
    var elapsed = state.active ? Math.min((now() - state.active.start) / 1000, targetSeconds(item)) : 0;
    state.items[item.dataset.item] = Math.round(elapsed);
    state.seconds[total] += Math.round(elapsed);
    state.active = null;
    checkbox(item).checked = true;
    save();
    announce(item.dataset.name + (auto ? (kind === "spot" ? ": " + holdMax + " seconds, leave it for today." : ": done.")
                                       : ": done after " + clock(elapsed) + "."));
    render();
  }
  function skipItem(item) {
    state.skipped[item.dataset.item] = true;
    state.active = null;
    save();
    announce(item.dataset.name + " skipped.");
    render();
  }

  function renderItems(kind) {
    var name = kind === "spot" ? "release" : "stretch", panel = runners[name];
    var item = pending(kind);
    items[kind].forEach(function (node) { node.classList.toggle("current", node === item); });
    var hadFocus = panel.contains(document.activeElement);
    panel.innerHTML = "";
    if (!item) {
      panel.appendChild(el("p", { "class": "runner-done" },
        kind === "spot" ? "Release done. Go straight on to the moist heat while the muscles are receptive."
                        : "Stretches done. Well done — now rate your pain."));
      keepFocus(hadFocus, sections[name].querySelector(".step-next button"));
      return;
    }
    var index = items[kind].indexOf(item) + 1;
    panel.appendChild(el("h3", {}, (kind === "spot" ? "Spot " : "Stretch ") + index + " of " + items[kind].length +
                                    ": " + item.dataset.name));
    var running = state.active && state.active.slug === item.dataset.item;
    var display = el("p", { "class": "clock", "data-clock": kind }, running ? "" : (kind === "spot" ? "0:00" : clock(targetSeconds(item))));
    panel.appendChild(display);
    var bar = el("progress", { max: String(targetSeconds(item)), value: "0", "aria-hidden": "true" });
    panel.appendChild(bar);
    panel.appendChild(el("p", { "class": "hint", "data-hint": kind },
      kind === "spot" ? "Lean in and breathe. Hold " + holdMin + "–" + holdMax + " seconds, until it softens."
                      : (item.dataset.eachSide === "1" ? "Left side first, then the right." : "Hold and breathe out slowly.")));
    var actions = el("p", { "class": "actions" });
    if (running) {
      actions.appendChild(button(kind === "spot" ? "It softened — next spot" : "Done — next", "", function () { finishItem(item, false); }));
    } else {
      actions.appendChild(button(kind === "spot" ? "Start hold" : "Start stretch", "", function () { startItem(item); }));
    }
    actions.appendChild(button(kind === "spot" ? "Skip this spot" : "Skip this stretch", "secondary", function () { skipItem(item); }));
    panel.appendChild(actions);
    keepFocus(hadFocus, actions.querySelector("button"));
  }

  // Re-rendering a runner replaces its buttons; a keyboard user's focus moves to the next sensible one.
  function keepFocus(hadFocus, target) { if (hadFocus && target) { target.focus(); } }

  function tickItems(kind) {
    var item = pending(kind);
    if (!item || !state.active || state.active.slug !== item.dataset.item) { return; }
    var elapsed = (now() - state.active.start) / 1000, target = targetSeconds(item);
    if (elapsed >= target) { finishItem(item, true); return; }
    var panel = runners[kind === "spot" ? "release" : "stretch"];
    var display = panel.querySelector("[data-clock]"), bar = panel.querySelector("progress");
    bar.value = elapsed;
    if (kind === "spot") {
      display.textContent = clock(elapsed);
      panel.querySelector("[data-hint]").textContent = elapsed < holdMin
        ? "Lean in and breathe. Stay at least " + holdMin + " seconds unless it has already softened."
        : "Has it softened? Then ease off and go to the next spot.";
    } else {
      display.textContent = countdown(target - elapsed);
      if (item.dataset.eachSide === "1") {
        panel.querySelector("[data-hint]").textContent = elapsed < target / 2 ? "Left side." : "Right side: switch now.";
      }
    }
  }

  // --- Moist heat: counts from the stored start time, so sleep and lock screens do not stop it.
  function heatElapsed() { return state.heatStart ? (now() - state.heatStart) / 1000 : 0; }
  function finishHeat(auto) {
    var seconds = Math.round(Math.min(heatElapsed(), heatMax));
    state.seconds.heat = seconds;
    state.heatDone = true;
    var box = form.querySelector('input[name="heat_done"]');
    if (box) { box.checked = true; }
    var minutes = form.querySelector('input[name="heat_minutes"]');
    if (minutes) { minutes.value = String(Math.round(seconds / 60)); }
    save();
    announce(auto ? heatMax / 60 + " minutes of heat: done." : "Heat done after " + clock(seconds) + ".");
    render();
  }
  function renderHeat() {
    var panel = runners.heat;
    var hadFocus = panel.contains(document.activeElement);
    panel.innerHTML = "";
    if (state.heatDone) {
      panel.appendChild(el("p", { "class": "runner-done" }, "Heat done (" + clock(state.seconds.heat) + "). Now the stretches, while the muscles are warm."));
      keepFocus(hadFocus, sections.heat.querySelector(".step-next button"));
      return;
    }
    panel.appendChild(el("h3", {}, "Moist heat timer"));
    panel.appendChild(el("p", { "class": "clock", "data-clock": "heat" }, clock(heatElapsed())));
    panel.appendChild(el("progress", { max: String(heatMax), value: "0", "aria-hidden": "true" }));
    panel.appendChild(el("p", { "class": "hint", "data-hint": "heat" },
      state.heatStart ? "" : "Put the heat on, then start the timer. It keeps counting if your phone locks."));
    var actions = el("p", { "class": "actions" });
    if (state.heatStart) {
      actions.appendChild(button("Heat done", "", function () { finishHeat(false); }));
    } else {
      actions.appendChild(button("Start heat timer", "", function () {
        state.heatStart = now();
        save();
        render();
      }));
    }
    panel.appendChild(actions);
    keepFocus(hadFocus, actions.querySelector("button"));
    tickHeat();
  }
  function tickHeat() {
    if (!state.heatStart || state.heatDone) { return; }
    var elapsed = heatElapsed();
    if (elapsed >= heatMax) { finishHeat(true); return; }
    var panel = runners.heat;
    panel.querySelector("[data-clock]").textContent = clock(elapsed);
    panel.querySelector("progress").value = elapsed;
    panel.querySelector("[data-hint]").textContent = elapsed < heatMin
      ? "Keep the heat on: " + countdown(heatMin - elapsed) + " to go to " + heatMin / 60 + " minutes. Check your skin every 5 minutes."
      : heatMin / 60 + " minutes reached. Stop whenever you like, up to " + heatMax / 60 + ".";
  }

  // --- Pain ratings and submit.
  function painValue(name) {
    var checked = form.querySelector('input[name="' + name + '"]:checked');
    return checked ? checked.value : null;
  }
  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "pain_before" || target.name === "pain_after") {
      state.pain[target.name] = target.value;
      save();
    }
  });
  form.addEventListener("submit", function (event) {
    var missing = painValue("pain_before") === null ? "before" : (painValue("pain_after") === null ? "after" : null);
    if (missing) {
      event.preventDefault();
      go(missing, true);
      announce("Rate your pain " + missing + " the session (0 to 10) to log it.");
      return;
    }
    ["release", "heat", "stretch"].forEach(function (name) {
      form.querySelector('[data-total="' + name + '"]').value = String(state.seconds[name]);
    });
    try { sessionStorage.removeItem(storeKey); } catch (e) { /* nothing stored */ }
  });

  function render() {
    ORDER.forEach(function (name) { sections[name].hidden = name !== state.step; });
    [].forEach.call(stepList.querySelectorAll("button"), function (b) {
      var name = b.dataset.go;
      if (name === state.step) { b.setAttribute("aria-current", "step"); } else { b.removeAttribute("aria-current"); }
      b.classList.toggle("is-done", stepDone(name));
    });
    renderItems("spot");
    renderHeat();
    renderItems("stretch");
    tick();
  }
  function tick() {
    tickItems("spot");
    tickItems("stretch");
    tickHeat();
  }

  // Restore a run in progress (reload, or the browser discarded the tab while the heat was on).
  Object.keys(state.items).forEach(function (slug) {
    var box = form.querySelector('input[type="checkbox"][value="' + slug + '"]');
    if (box) { box.checked = true; }
  });
  Object.keys(state.pain).forEach(function (name) {
    var radio = form.querySelector('input[name="' + name + '"][value="' + state.pain[name] + '"]');
    if (radio) { radio.checked = true; }
  });
  if (state.heatDone) {
    var heatBox = form.querySelector('input[name="heat_done"]');
    if (heatBox) { heatBox.checked = true; }
  }
  render();
  window.setInterval(tick, 250);
  // Coming back from a locked screen: show the true time at once rather than on the next tick.
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { tick(); } });
}());
