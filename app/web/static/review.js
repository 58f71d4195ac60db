// Review: keyboard-first. j/k move between fields, Enter edits, a approves (saving any
// corrections), n opens the next document. Saves send the record's version; a save
// after another reviewer's is refused by the server and said so here.
"use strict";
(function () {
  const root = document.getElementById("record");
  const rows = window.shipdocRecord.rows;
  const pending = {};
  let current = 0;
  let editing = null;
  let done = false;

  function select(i) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, n) => { r.setAttribute("aria-selected", String(n === current)); r.tabIndex = n === current ? 0 : -1; });
    rows[current].focus();
  }
  function typed(text, original) {
    if (typeof original === "number" && text.trim() !== "" && !isNaN(Number(text))) return Number(text);
    return text === "" ? null : text;
  }
  function edit() {
    const row = rows[current];
    const cell = row.querySelector(".val");
    const input = document.createElement("input");
    input.type = "text";
    input.value = row.dataset.path in pending ? (pending[row.dataset.path] ?? "") : (cell.textContent === "–" ? "" : cell.textContent);
    input.setAttribute("aria-label", "New value of " + row.querySelector("th").firstChild.textContent.trim());
    cell.replaceWith(input);
    editing = { row, input, cell };
    input.focus();
    input.select();
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(true); }
      else if (e.key === "Escape") { e.preventDefault(); finish(false); }
      e.stopPropagation();
    });
  }
  function finish(keep) {
    const { row, input, cell } = editing;
    editing = null;
    if (keep) {
      const original = JSON.parse(row.dataset.original);
      const value = typed(input.value, original);
      if (value !== original) { pending[row.dataset.path] = value; cell.textContent = value === null ? "–" : String(value); row.classList.add("active"); }
    }
    input.replaceWith(cell);
    const n = Object.keys(pending).length;
    shipdoc.say("pending", n ? n + " correction" + (n === 1 ? "" : "s") + " to save with approve" : "");
    select(current);
  }
  async function approve() {
    if (done) return;
    const fields = Object.assign({}, pending);
    const corrected = Object.keys(fields).length > 0;
    const body = { action: corrected ? "correct" : "approve", version: Number(root.dataset.version) };
    if (corrected) body.fields = fields;
    shipdoc.say("review-error", "");
    shipdoc.say("review-status", "Saving…");
    const response = await shipdoc.api("/v1/records/" + root.dataset.record + "/review", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (response.ok) {
      const record = await response.json();
      done = true;
      root.dataset.version = String(record.version);
      shipdoc.say("review-state", record.review_state);
      shipdoc.say("review-status", (corrected ? "Corrected and approved" : "Approved") + ". Press n for the next document.");
      document.getElementById("next").focus();
    } else {
      shipdoc.say("review-status", "");
      const message = await shipdoc.errorMessage(response);
      shipdoc.say("review-error", (response.status === 409 ? "Not saved: " : "Not saved (" + response.status + "): ") + message);
    }
  }
  document.getElementById("approve").addEventListener("click", approve);
  document.addEventListener("keydown", (e) => {
    if (editing || e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    if (e.key === "j") { e.preventDefault(); select(current + 1); }
    else if (e.key === "k") { e.preventDefault(); select(current - 1); }
    else if (e.key === "Enter" && e.target.closest && e.target.closest("tr[data-path]")) { e.preventDefault(); edit(); }
    else if (e.key === "a") { e.preventDefault(); approve(); }
    else if (e.key === "n") { e.preventDefault(); window.location = document.getElementById("next").href; }
  });
  rows.forEach((r, n) => r.addEventListener("click", () => select(n)));
  select(0);
})();
