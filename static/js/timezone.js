// Sign-up: preselect the browser's time zone in a select marked data-timezone-autodetect
// (the organization's dates are shown in it). Browsers may report an old name of a zone
// (Chromium: "Asia/Calcutta"); each option lists its zone's old names in data-aliases.
// Loaded with a <script src> (the CSP forbids inline scripts); without it the default stays.
(function () {
  "use strict";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function preselect() {
    const zone = browserZone();
    if (!zone) { return; }
    document.querySelectorAll("select[data-timezone-autodetect]").forEach((select) => {
      if (select.dataset.touched) { return; }
      const match = Array.from(select.options).find((option) =>
        option.value === zone || (option.dataset.aliases || "").split(" ").includes(zone));
      if (match) { select.value = match.value; }
    });
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("select[data-timezone-autodetect]")) {
      event.target.dataset.touched = "1";
    }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", preselect);
  } else {
    preselect();
  }
})();
