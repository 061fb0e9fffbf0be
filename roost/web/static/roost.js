// roost's dashboard: the few things a page does without a round trip. Every page
// works without this file; it only adds conveniences.
"use strict";

// "select all" on a table of instances
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.hasAttribute("data-select-all")) return;
  const table = box.closest("table");
  if (!table) return;
  for (const item of table.querySelectorAll('tbody input[type="checkbox"][name="instance_id"]')) {
    item.checked = box.checked;
  }
});

// bulk buttons say how many they act on, and refuse to act on none
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.id !== "bulk") return;
  const chosen = form.querySelectorAll('input[name="instance_id"]:checked').length;
  if (chosen === 0) {
    event.preventDefault();
    alert("Select at least one instance.");
  }
});
