// Keys for the review pages: Alt+letter presses the control marked data-key="letter";
// PageUp and PageDown are previous and next. Enter is the browser's own form submit.
"use strict";
document.addEventListener("keydown", (event) => {
  let key = null;
  if (event.altKey && !event.ctrlKey && !event.metaKey && event.key.length === 1) {
    key = event.key.toLowerCase();
  } else if (event.key === "PageUp") {
    key = "p";
  } else if (event.key === "PageDown") {
    key = "n";
  }
  const target = key && document.querySelector(`[data-key="${key}"]`);
  if (!target) return;
  event.preventDefault();
  if (target instanceof HTMLButtonElement) target.form.requestSubmit(target);
  else target.click();
});

// On the form page a box links to its field: put the cursor in that field's value.
function focusFromHash() {
  const item = location.hash && document.getElementById(location.hash.slice(1));
  const input = item && item.querySelector("input[name=value]");
  if (input) { input.focus(); input.select(); }
  const box = item && document.querySelector(`a.box[href="${location.hash}"]`);
  document.querySelectorAll("a.box.here").forEach((b) => b.classList.remove("here"));
  if (box) {
    box.classList.add("here");
    box.scrollIntoView({ block: "center" });
    window.scrollTo(0, 0);  // only the page pane scrolls: keep the header in view
  }
}
window.addEventListener("hashchange", focusFromHash);
document.addEventListener("DOMContentLoaded", () => {
  focusFromHash();
  const value = document.getElementById("value");
  if (value) { value.focus(); value.select(); }
});
