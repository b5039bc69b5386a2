// Sales tab: row selection, the custom date range, and keeping both right after htmx swaps
// the results. Everything here is an enhancement: without it the forms and links still work.
(function () {
  "use strict";

  function selectionForm() {
    return document.getElementById("orders-form");
  }

  function refreshSelection() {
    const form = selectionForm();
    if (!form) { return; }
    const boxes = form.querySelectorAll("input[name='ids']");
    const checked = form.querySelectorAll("input[name='ids']:checked").length;
    form.querySelectorAll("[data-selected-count]").forEach((el) => { el.textContent = String(checked); });
    form.querySelectorAll("[data-needs-selection]").forEach((button) => {
      if (button.dataset.ledgerOff === undefined) {
        button.dataset.ledgerOff = button.disabled ? "1" : "0";
      }
      button.disabled = button.dataset.ledgerOff === "1" || checked === 0;
    });
    const all = form.querySelector("[data-select-all]");
    if (all) {
      all.hidden = false;
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
  }

  function refreshDates() {
    const preset = document.getElementById("id_preset");
    if (!preset) { return; }
    const custom = preset.value === "custom";
    document.querySelectorAll("[data-custom-dates]").forEach((el) => { el.hidden = !custom; });
  }

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("[data-select-all]")) {
      const form = selectionForm();
      form.querySelectorAll("input[name='ids']").forEach((box) => { box.checked = target.checked; });
      refreshSelection();
    } else if (target.matches("#orders-form input[name='ids']")) {
      refreshSelection();
    } else if (target.matches("#id_preset")) {
      refreshDates();
    }
    // Filters apply as soon as a choice changes (the search box waits for Enter or the button).
    if (target.form && target.form.id === "sales-filters" && target.type !== "search" && target.type !== "date") {
      if (target.form.requestSubmit) { target.form.requestSubmit(); } else { target.form.submit(); }
    }
  });

  function refreshAll() {
    refreshSelection();
    refreshDates();
  }

  document.addEventListener("DOMContentLoaded", refreshAll);
  document.addEventListener("htmx:afterSettle", refreshAll);
  if (document.readyState !== "loading") { refreshAll(); }
})();
