// Governance pages: the field form shows its options box only for choice types.
(function () {
  "use strict";
  function syncChoices(form) {
    var type = form.querySelector("[name=field_type]");
    var row = form.querySelector("[data-choices-row]");
    if (!type || !row) return;
    var isChoice = type.value === "choice" || type.value === "multi_choice";
    row.hidden = !isChoice;
  }
  document.querySelectorAll("[data-field-form]").forEach(function (form) {
    syncChoices(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "field_type") syncChoices(form);
    });
  });
})();
