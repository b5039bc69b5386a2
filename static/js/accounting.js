// Accounting pages: "select all" checkboxes for lists of postings or orders.
// A checkbox with data-select-all="<name>" ticks every checkbox named <name> in its form.
document.addEventListener("change", (event) => {
  const master = event.target.closest("[data-select-all]");
  if (!master) {
    return;
  }
  const scope = master.form || document;
  scope.querySelectorAll(`input[type=checkbox][name="${master.dataset.selectAll}"]`).forEach((box) => {
    box.checked = master.checked;
  });
});
