// Keel's small behaviours that htmx does not cover: toasts, the "/" search shortcut, dark mode.
(function () {
  "use strict";
  const root = document.documentElement;
  const stored = localStorage.getItem("keel-theme");
  if (stored) root.setAttribute("data-bs-theme", stored);

  function showToasts(scope) {
    scope.querySelectorAll("[data-keel-toast]").forEach(function (el) {
      bootstrap.Toast.getOrCreateInstance(el, { delay: 4000 }).show();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    showToasts(document);
    document.querySelectorAll("[data-keel-theme-toggle]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        const next = root.getAttribute("data-bs-theme") === "dark" ? "light" : "dark";
        root.setAttribute("data-bs-theme", next);
        localStorage.setItem("keel-theme", next);
      });
    });
  });
  // Toasts arrive in swapped partials and in out-of-band swaps (e.g. "Saved").
  document.addEventListener("htmx:afterSwap", function (event) { showToasts(event.target); });
  document.addEventListener("htmx:oobAfterSwap", function (event) { showToasts(event.target); });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) return;
    const search = document.querySelector("[data-keel-search]");
    if (search && !search.disabled) { event.preventDefault(); search.focus(); }
  });
})();
