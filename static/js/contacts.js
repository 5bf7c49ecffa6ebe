// Contacts pages: refused forms (422) swap in with their messages, toasts that arrive
// with htmx responses show, and list rows can be selected together for bulk changes.
(function () {
  "use strict";

  // htmx leaves 4xx responses unswapped; a refused form must show its messages.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function showToasts() {
    document.querySelectorAll("[data-contacts-toast]").forEach(function (el) {
      el.removeAttribute("data-contacts-toast");
      bootstrap.Toast.getOrCreateInstance(el, { delay: 4000 }).show();
    });
  }
  document.addEventListener("htmx:afterSettle", showToasts);

  // Bulk selection: "select all", and a count of what is selected.
  function updateBulk() {
    const rows = document.querySelectorAll("[data-bulk-row]");
    const checked = document.querySelectorAll("[data-bulk-row]:checked").length;
    const count = document.querySelector("[data-bulk-count]");
    const all = document.querySelector("[data-bulk-all]");
    if (count) count.textContent = checked ? checked + " selected" : "Select rows to change them together";
    const bar = document.querySelector("[data-bulk-form]");
    if (bar) bar.classList.toggle("has-selection", checked > 0);
    if (all) {
      all.checked = rows.length > 0 && checked === rows.length;
      all.indeterminate = checked > 0 && checked < rows.length;
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-bulk-all]")) {
      document.querySelectorAll("[data-bulk-row]").forEach(function (box) { box.checked = event.target.checked; });
    }
    if (event.target.matches("[data-bulk-all], [data-bulk-row]")) updateBulk();
  });
  document.addEventListener("htmx:afterSettle", updateBulk);

  // After the quick-log form arrives, put the cursor in its first field.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "quick-log") {
      const field = event.target.querySelector("textarea, input:not([type=hidden])");
      if (field) field.focus({ preventScroll: true });
    }
  });
})();
