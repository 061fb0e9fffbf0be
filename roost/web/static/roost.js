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

// a log page follows new lines through the REST route (the same access checks)
const log = document.querySelector("pre[data-follow]");
if (log) {
  const state = document.getElementById("log-state");
  const MAX_LINES = 5000;
  const atBottom = () => log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.scrollTop = log.scrollHeight;
  (async () => {
    try {
      const answer = await fetch(log.dataset.follow, { credentials: "same-origin" });
      if (!answer.ok || !answer.body) throw new Error(`${answer.status}`);
      if (state) state.textContent = "Following new lines.";
      const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const follow = atBottom();
        log.append(document.createTextNode(value));
        const text = log.textContent;
        const lines = text.split("\n");
        if (lines.length > MAX_LINES) log.textContent = lines.slice(-MAX_LINES).join("\n");
        if (follow) log.scrollTop = log.scrollHeight;
      }
      if (state) state.textContent = "The server ended the stream.";
    } catch (error) {
      if (state) state.textContent = `Not following new lines (${error.message}).`;
    }
  })();
}
