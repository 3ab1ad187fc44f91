// The operations page's only script: keeps "Fila agora" current and asks before removals.
// Everything works without it (the queue then refreshes itself every 5 s through <noscript>).
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-confirmar]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirmar"))) {
        event.preventDefault();
      }
    });
  });

  var live = document.querySelector("[data-atualizar]");
  if (!live) {
    return;
  }
  var url = live.getAttribute("data-atualizar");
  var every = 1000;
  function refresh() {
    // Never pull the content from under someone using it with the keyboard.
    if (live.contains(document.activeElement)) {
      window.setTimeout(refresh, every);
      return;
    }
    fetch(url, { credentials: "same-origin", redirect: "manual", cache: "no-store" })
      .then(function (response) {
        if (response.type === "opaqueredirect" || response.status === 303) {
          window.location.reload();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== live.innerHTML) {
          live.innerHTML = html;
        }
      })
      .catch(function () {})
      .then(function () {
        window.setTimeout(refresh, every);
      });
  }
  window.setTimeout(refresh, every);
});
