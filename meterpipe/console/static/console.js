// The console works without this script; it only saves clicks. Served from the package: no CDN.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A filter applies as soon as it is chosen.
  for (const select of document.querySelectorAll("select.autosubmit")) {
    select.addEventListener("change", () => select.form.submit());
  }
  // Actions ask first.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  // The selected state scrolls into view with its detail below the graph.
  const selected = document.querySelector(".state.selected");
  if (selected && location.hash === "#detail") {
    selected.querySelector(".state-box").focus({ preventScroll: true });
  }
});
