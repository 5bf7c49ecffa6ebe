// The header search's dropdown: arrow keys move through results, Escape or a click
// elsewhere closes it. htmx fetches the results; this only handles focus and closing.
(function () {
  "use strict";
  const form = document.querySelector("[data-keel-search-form]");
  if (!form) return;
  const input = form.querySelector("[data-keel-search]");
  const menu = form.querySelector("#search-results");

  function items() { return Array.from(menu.querySelectorAll("a")); }
  function close() { menu.innerHTML = ""; }

  form.addEventListener("keydown", function (event) {
    const links = items();
    const index = links.indexOf(document.activeElement);
    if (event.key === "Escape") {
      close();
      input.focus();
    } else if (event.key === "ArrowDown" && links.length) {
      event.preventDefault();
      links[Math.min(index + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && links.length) {
      event.preventDefault();
      if (index <= 0) input.focus(); else links[index - 1].focus();
    }
  });
  document.addEventListener("click", function (event) {
    if (!form.contains(event.target)) close();
  });
  input.addEventListener("input", function () {
    if (input.value.trim().length < 2) close();
  });
})();
