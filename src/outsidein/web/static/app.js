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
  function drawFigures(root) {
    if (typeof window.Plotly === "undefined") { return; }
    (root || document).querySelectorAll(".plotly-fig:not([data-drawn])").forEach(function (el) {
      var src = document.getElementById(el.getAttribute("data-figure"));
      if (!src) { return; }
      var fig = JSON.parse(src.textContent);
      el.setAttribute("data-drawn", "1");
      window.Plotly.newPlot(el, fig.data || [], fig.layout || {},
        {responsive: true, displaylogo: false, showSendToCloud: false, showLink: false,
         showEditInChartStudio: false, modeBarButtonsToRemove: ["sendDataToCloud"]});
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
})();
