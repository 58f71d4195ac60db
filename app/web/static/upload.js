// Upload: one request per file (XMLHttpRequest for upload progress), then the document's
// status is polled until it reaches an outcome.
"use strict";
(function () {
  const drop = document.getElementById("drop");
  const input = document.getElementById("files");
  const list = document.getElementById("uploads");
  const FINAL = new Set(["extracted", "needs_review", "rejected", "failed"]);
  const WORDS = { extracted: "extracted", needs_review: "needs review", rejected: "rejected", failed: "failed" };

  function item(file) {
    document.getElementById("uploads-empty").hidden = true;
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = file.name;
    const outcome = document.createElement("span");
    outcome.className = "outcome";
    outcome.textContent = "uploading";
    const bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    const detail = document.createElement("span");
    detail.className = "detail small muted";
    li.append(name, outcome, bar, detail);
    list.prepend(li);
    return { li, outcome, bar, detail };
  }
  function link(href, text) { const a = document.createElement("a"); a.href = href; a.textContent = text; return a; }

  async function watch(ui, documentId) {
    for (let i = 0; i < 1800; i++) {
      const response = await shipdoc.api("/v1/documents/" + documentId);
      if (response.ok) {
        const doc = await response.json();
        const job = doc.job ? doc.job.state : "";
        let stage = doc.status;
        if (stage === "received") stage = job === "running" ? "parsing" : "queued";
        else if (stage === "parsed") stage = "extracting";
        if (FINAL.has(doc.status)) {
          ui.outcome.textContent = WORDS[doc.status];
          ui.outcome.className = "outcome " + (doc.status === "extracted" ? "good" : doc.status === "needs_review" ? "" : "bad");
          ui.detail.textContent = doc.error_message ? doc.error_message + " " : "";
          doc.record_ids.forEach((id) => { ui.detail.append(link("/records/" + id, "record #" + id), " "); });
          ui.li.dataset.outcome = doc.status;
          return;
        }
        ui.outcome.textContent = stage;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  function send(file) {
    const ui = item(file);
    const form = new FormData();
    form.append("files", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/documents");
    xhr.setRequestHeader("X-CSRF-Token", shipdoc.csrf);
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) ui.bar.value = Math.round((100 * e.loaded) / e.total); });
    xhr.addEventListener("load", () => {
      ui.bar.value = 100;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 401) { window.location = "/signin?expired=1&next=/upload"; return; }
      if (xhr.status >= 400) {
        ui.outcome.textContent = "rejected";
        ui.outcome.className = "outcome bad";
        ui.detail.textContent = body.error ? body.error.message : "HTTP " + xhr.status;
        ui.li.dataset.outcome = "rejected";
        return;
      }
      const doc = body.documents[0];
      if (doc.duplicate) {
        ui.outcome.textContent = "duplicate";
        ui.detail.textContent = "already uploaded as ";
        ui.detail.append(link("/v1/documents/" + doc.document_id, "document #" + doc.document_id));
        ui.li.dataset.outcome = "duplicate";
        ui.li.dataset.document = String(doc.document_id);
        watchRecords(ui, doc.document_id);
        return;
      }
      ui.outcome.textContent = "queued";
      ui.li.dataset.document = String(doc.document_id);
      watch(ui, doc.document_id);
    });
    xhr.addEventListener("error", () => { ui.outcome.textContent = "upload failed (network)"; ui.outcome.className = "outcome bad"; });
    xhr.send(form);
  }
  async function watchRecords(ui, documentId) {
    const response = await shipdoc.api("/v1/documents/" + documentId);
    if (!response.ok) return;
    const doc = await response.json();
    ui.detail.append(" (" + (WORDS[doc.status] || doc.status) + ")");
    doc.record_ids.forEach((id) => { ui.detail.append(" ", link("/records/" + id, "record #" + id)); });
  }

  input.addEventListener("change", () => { Array.from(input.files).forEach(send); input.value = ""; });
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => Array.from(e.dataTransfer.files).forEach(send));
})();
