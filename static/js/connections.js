// Connections pages: show/hide the API secret while typing it, and make the connect button
// say that ShipStation is being asked (the check can take a few seconds) while preventing a
// second submit. Loaded with a <script src> (the CSP forbids inline scripts).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-reveal]");
  if (!button) return;
  const input = document.getElementById(button.dataset.reveal);
  if (!input) return;
  const hidden = input.type === "password";
  input.type = hidden ? "text" : "password";
  if (!button.dataset.showText) button.dataset.showText = button.textContent;
  button.textContent = hidden ? (button.dataset.hideText || "Hide") : button.dataset.showText;
  button.setAttribute("aria-pressed", hidden ? "true" : "false");
});
document.addEventListener("submit", (event) => {
  const form = event.target.closest("[data-connect-form]");
  if (!form) return;
  const button = form.querySelector("[data-busy-text]");
  if (!button) return;
  if (form.dataset.submitting) {
    event.preventDefault();
    return;
  }
  form.dataset.submitting = "1";
  button.setAttribute("aria-disabled", "true");
  button.classList.add("disabled");
  button.textContent = button.dataset.busyText;
});
