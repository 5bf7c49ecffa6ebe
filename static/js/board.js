// The deal board: drag a card to another column (SortableJS) and htmx posts the move.
// The server answers with the board's updates (the card, both column totals, a toast),
// or with a dialog listing what the stage still needs (422), or with a conflict (409);
// in both of the latter the card goes back where it was until the move succeeds.
(function () {
  "use strict";

  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function csrfHeaders() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    } catch (e) {
      return {};
    }
  }

  function boardQuery() {
    const board = document.querySelector("[data-board]");
    return board ? board.dataset.query || "" : "";
  }

  function withQuery(url, extra) {
    const parts = [extra, boardQuery()].filter(Boolean);
    return parts.length ? url + (url.indexOf("?") === -1 ? "?" : "&") + parts.join("&") : url;
  }

  function putBack(card, from, index) {
    const items = Array.prototype.filter.call(from.children, function (el) { return el !== card; });
    from.insertBefore(card, items[index] || from.querySelector(".board-more, .board-empty"));
  }

  function onEnd(event) {
    document.body.classList.remove("is-dragging");
    const card = event.item;
    const to = event.to;
    if (to === event.from) return;
    const moveUrl = card.dataset.moveUrl;
    const stage = to.dataset.stage;
    if (to.hasAttribute("data-terminal")) {
      // Won and lost ask first (contract dates, the reason): show the dialog.
      putBack(card, event.from, event.oldIndex);
      htmx.ajax("GET", withQuery(moveUrl, "to=" + stage + "&from=board"), {
        target: "#move-dialog-slot",
        swap: "innerHTML",
      });
      return;
    }
    card.classList.add("is-saving");
    card.keelRevert = { from: event.from, index: event.oldIndex };
    htmx.ajax("POST", withQuery(moveUrl, ""), {
      source: card,
      target: "#move-dialog-slot",
      swap: "innerHTML",
      headers: csrfHeaders(),
      values: { to_stage: stage, version: card.dataset.version, from: "board" },
    });
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    const card = event.detail.elt;
    if (!card || !card.keelRevert) return;
    const revert = card.keelRevert;
    delete card.keelRevert;
    card.classList.remove("is-saving");
    if (event.detail.xhr.status !== 200) putBack(card, revert.from, revert.index);
  });

  // A card's "Move to" menu is filled when it opens, from the board's one list of stages
  // (every stage but the card's own, which follows the card when it moves).
  document.addEventListener("show.bs.dropdown", function (event) {
    const card = event.target.closest(".deal-card");
    const items = document.getElementById("move-menu-items");
    if (!card || !items) return;
    const menu = card.querySelector("[data-move-menu]");
    const here = card.closest("[data-stage]").dataset.stage;
    menu.replaceChildren();
    items.content.querySelectorAll("li").forEach(function (item) {
      if (item.dataset.stage === here) return;
      const copy = item.cloneNode(true);
      const link = copy.querySelector("a");
      if (link) link.href = card.dataset.moveUrl + "?to=" + item.dataset.stage + "&from=board";
      menu.appendChild(copy);
    });
  });

  document.addEventListener("click", function (event) {
    const link = event.target.closest("[data-move-menu] a");
    if (!link) return;
    event.preventDefault();
    htmx.ajax("GET", withQuery(link.getAttribute("href"), ""), {
      target: "#move-dialog-slot",
      swap: "innerHTML",
    });
  });

  // "Mine" overrides the owner list: grey it out while Mine is on. Capturing, so the
  // filter form's htmx request (on the bubbling change) already sends the owner list.
  document.addEventListener("change", function (event) {
    if (event.target.id !== "board-mine") return;
    document.querySelectorAll("[data-unless-mine]").forEach(function (el) {
      el.disabled = event.target.checked;
    });
  }, true);

  function init(root) {
    if (typeof Sortable === "undefined") return;
    root.querySelectorAll(".board-cards, .dropzone-list").forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      Sortable.create(list, {
        group: "deals",
        sort: false,
        draggable: ".deal-card",
        filter: ".deal-card-menu",
        preventOnFilter: false,
        forceFallback: true,
        fallbackTolerance: 4,
        // On touch screens a press-and-hold picks a card up; a swipe scrolls the board.
        delay: 250,
        delayOnTouchOnly: true,
        animation: reduced ? 0 : 150,
        ghostClass: "is-ghost",
        chosenClass: "is-chosen",
        dragClass: "is-dragged",
        emptyInsertThreshold: 40,
        fallbackOnBody: true,
        // Sortable clones the card for the floating copy; a style attribute on it would be
        // refused by the CSP (no inline styles), so the card carries none when cloned.
        onChoose: function (event) { event.item.removeAttribute("style"); },
        onStart: function () { document.body.classList.add("is-dragging"); },
        onEnd: onEnd,
      });
    });
  }

  htmx.onLoad(init);
})();
