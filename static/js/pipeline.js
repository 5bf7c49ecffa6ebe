// Pipeline pages: the move dialog (a native <dialog>: it traps focus and closes on
// Escape), refused moves (422) and conflicts (409) swapped in with their messages,
// toasts that arrive out of band, and dragging stages into order in the settings.
(function () {
  "use strict";

  const SLOT = "move-dialog-slot";

  // htmx leaves 4xx responses unswapped; a refused move must show what is missing.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    if (status === 422 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function openDialog(slot) {
    const dialog = slot.querySelector("dialog[data-move-dialog]");
    if (!dialog) return;
    if (!dialog.open) dialog.showModal();
    const target = dialog.querySelector(".is-invalid") ||
      dialog.querySelector(".criteria-list input:not([type=hidden]), .criteria-list select, .criteria-list textarea") ||
      dialog.querySelector(".move-foot .btn-primary, .move-foot .btn-success, .move-foot .btn-danger");
    if (target) target.focus();
    dialog.addEventListener("close", function () {
      // Let the closing finish, then drop the dialog so the next one starts fresh.
      window.setTimeout(function () { if (!dialog.open) dialog.remove(); }, 0);
    });
  }

  document.addEventListener("click", function (event) {
    const closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) dialog.close();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === SLOT) openDialog(event.target);
  });

  function showToasts() {
    document.querySelectorAll("[data-pipeline-toast]").forEach(function (el) {
      el.removeAttribute("data-pipeline-toast");
      bootstrap.Toast.getOrCreateInstance(el, { delay: 4000 }).show();
    });
  }
  document.addEventListener("htmx:afterSettle", showToasts);
  document.addEventListener("htmx:oobAfterSwap", showToasts);

  // Settings: drag the open stages into order; the form posts on "end" (hx-trigger).
  function sortableStages(root) {
    if (typeof Sortable === "undefined") return;
    root.querySelectorAll("[data-sortable-stages]").forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      Sortable.create(list, {
        handle: ".stage-handle",
        draggable: "[data-draggable]",
        animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? 0 : 150,
        forceFallback: true,
      });
    });
  }
  if (window.htmx) htmx.onLoad(sortableStages);
  document.addEventListener("DOMContentLoaded", function () { sortableStages(document); });
})();
