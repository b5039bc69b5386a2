// Small progressive enhancements. No inline scripts anywhere (the CSP forbids them).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
});
document.addEventListener("change", (event) => {
  const el = event.target.closest("[data-autosubmit]");
  if (el && el.form) {
    if (el.form.requestSubmit) { el.form.requestSubmit(); } else { el.form.submit(); }
  }
});

// A page that loads part of itself with hx-get (the connection page's import panel) may be
// opened at an anchor inside that part (#unmatched): scroll there once, when it has arrived.
let unifyHashReached = false;
document.addEventListener("htmx:afterSettle", () => {
  const hash = window.location.hash;
  if (unifyHashReached || !hash || hash.length < 2) return;
  const target = document.getElementById(decodeURIComponent(hash.slice(1)));
  if (target) {
    unifyHashReached = true;
    target.scrollIntoView();
  }
});
