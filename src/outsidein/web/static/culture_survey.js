// The culture survey: keeps the answers as they are given (PUT .../draft, the session's CSRF
// token in X-CSRF-Token), so closing the page loses nothing. Without script the "Save and
// finish later" button does the same.
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form || !window.fetch) { return; }
  var url = form.getAttribute("data-draft-url");
  var progress = document.getElementById("survey-progress");
  var timer = null;
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function fields() {
    var out = {};
    new FormData(form).forEach(function (value, key) {
      if (key !== "csrf_token" && key !== "action" && typeof value === "string") { out[key] = value; }
    });
    return out;
  }
  function save() {
    timer = null;
    fetch(url, {method: "PUT", credentials: "same-origin",
                headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
                body: JSON.stringify(fields())})
      .then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
      .then(function (res) {
        if (!progress) { return; }
        progress.textContent = res[0]
          ? "Saved: " + res[1].answered + " of " + res[1].items + " questions answered."
          : "Not saved: " + (res[1].detail || "please check your answers") + ".";
      })
      .catch(function () {
        if (progress) { progress.textContent = "Not saved (no connection); use Save and finish later."; }
      });
  }
  form.addEventListener("change", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, 600);
  });
})();
