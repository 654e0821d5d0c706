// Outside-In pages: CSRF header on every HTMX request, Plotly figures from JSON blocks.
// No inline scripts anywhere (the Content-Security-Policy forbids them).
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });
  document.addEventListener("htmx:responseError", function (event) {
    var target = event.detail.target;
    var box = document.createElement("p");
    box.className = "error";
    box.setAttribute("role", "alert");
    var xhr = event.detail.xhr;
    box.textContent = "Could not complete the request (" + xhr.status + " " + xhr.statusText +
      "); reload the page and try again.";
    if (target && target.parentNode) { target.parentNode.insertBefore(box, target.nextSibling); }
  });
  // /static/plotly.js is plotly.js's basic bundle (these trace types, as BASIC_TRACES in
  // web/routes/system.py); a figure with any other type loads the full bundle first.
  var BASIC_TRACES = ["scatter", "bar", "pie"];
  var fullBundle = null;
  function needsFullBundle(fig) {
    return (fig.data || []).some(function (t) { return BASIC_TRACES.indexOf(t.type || "scatter") < 0; });
  }
  function loadFullBundle(then) {
    if (!fullBundle) {
      fullBundle = [];
      var basic = document.querySelector('script[src^="/static/plotly.js"]');
      var script = document.createElement("script");
      script.src = "/static/plotly.js?bundle=full" +
        (basic && basic.src.indexOf("v=") > 0 ? "&" + basic.src.split("?")[1] : "");
      script.addEventListener("load", function () {
        window.Plotly.fullBundle = true;
        fullBundle.forEach(function (f) { f(); });
      });
      document.head.appendChild(script);
    }
    if (window.Plotly && window.Plotly.fullBundle) { then(); } else { fullBundle.push(then); }
  }
  // Keyboard: a chart's toolbar is one Tab stop (the ARIA toolbar pattern); the arrow keys,
  // Home and End move between its buttons, so Tab goes past a chart in one press.
  function toolbarButtons(bar) { return Array.prototype.slice.call(bar.querySelectorAll("button")); }
  function oneTabStop(el) {
    el.querySelectorAll('[role="toolbar"]').forEach(function (bar) {
      var buttons = toolbarButtons(bar);
      var current = buttons.filter(function (b) { return b.getAttribute("tabindex") === "0"; })[0];
      buttons.forEach(function (b) { b.setAttribute("tabindex", b === (current || buttons[0]) ? "0" : "-1"); });
      if (!bar.hasAttribute("aria-label")) { bar.setAttribute("aria-label", "Chart tools"); }
    });
  }
  function toolbarFocus(event) {  // the button last used is the toolbar's Tab stop
    var button = event.target.closest && event.target.closest('[role="toolbar"] button');
    if (!button) { return; }
    toolbarButtons(button.closest('[role="toolbar"]')).forEach(function (b) {
      b.setAttribute("tabindex", b === button ? "0" : "-1");
    });
  }
  function toolbarKeys(event) {
    var button = event.target.closest && event.target.closest('[role="toolbar"] button');
    if (!button) { return; }
    var buttons = toolbarButtons(button.closest('[role="toolbar"]'));
    var i = buttons.indexOf(button), n = buttons.length;
    var next = {ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1 + n, ArrowUp: i - 1 + n,
                Home: 0, End: n - 1}[event.key];
    if (next === undefined) { return; }
    event.preventDefault();
    buttons[next % n].focus();  // toolbarFocus makes it the Tab stop
  }
  // On a phone a chart's title is wider than the chart and Plotly cuts it: show it as a
  // line of text above the chart instead, where it wraps.
  function titleAbove(el, layout) {
    var title = layout.title && (typeof layout.title === "string" ? layout.title : layout.title.text);
    if (!title || el.clientWidth >= 560) { return layout; }
    var caption = document.createElement("p");
    caption.className = "fig-title";
    caption.textContent = title.replace(/<[^>]*>/g, " ");
    el.parentNode.insertBefore(caption, el);
    var copy = Object.assign({}, layout);
    delete copy.title;
    copy.margin = Object.assign({}, layout.margin || {}, {t: 16});
    return copy;
  }
  function draw(el, fig) {
    window.Plotly.newPlot(el, fig.data || [], titleAbove(el, fig.layout || {}),
      {responsive: true, displaylogo: false, showSendToCloud: false, showLink: false,
       showEditInChartStudio: false,
       modeBarButtonsToRemove: ["sendDataToCloud", "select2d", "lasso2d"]}).then(function () {
      oneTabStop(el);
      el.on("plotly_afterplot", function () { oneTabStop(el); });
    });
    el.addEventListener("keydown", toolbarKeys);
    el.addEventListener("focusin", toolbarFocus);
  }
  function drawFigures(root) {
    if (typeof window.Plotly === "undefined") { return; }
    (root || document).querySelectorAll(".plotly-fig:not([data-drawn])").forEach(function (el) {
      var src = document.getElementById(el.getAttribute("data-figure"));
      if (!src) { return; }
      var fig = JSON.parse(src.textContent);
      el.setAttribute("data-drawn", "1");
      if (needsFullBundle(fig) && !window.Plotly.fullBundle) {
        loadFullBundle(function () { draw(el, fig); });
      } else { draw(el, fig); }
    });
  }
  // Phone layout: the navigation collapses behind the "Menu" button (CSS shows the button
  // only on narrow screens; without this script the navigation simply stays open).
  function navToggle() {
    var bar = document.querySelector(".topbar");
    var button = bar && bar.querySelector(".nav-toggle");
    if (!button) { return; }
    bar.classList.add("nav-ready");
    button.addEventListener("click", function () {
      var open = bar.classList.toggle("nav-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", navToggle);
  } else { navToggle(); }
  window.addEventListener("load", function () { drawFigures(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawFigures(event.detail.target); });
  // The swapped-out button had the keyboard focus: move it to the status region that
  // replaced it (marked data-focus-after-swap), so keyboard users stay in place.
  document.addEventListener("htmx:afterSettle", function () {
    var box = document.querySelector("[data-focus-after-swap]");
    if (box) { box.removeAttribute("data-focus-after-swap"); box.focus(); }
  });
})();
