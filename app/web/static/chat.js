// Chat: the answer streams in as server-sent events from POST /v1/chat (read with fetch).
"use strict";
(function () {
  const root = document.getElementById("chat");
  const form = document.getElementById("ask");
  const box = document.getElementById("question");
  const turns = document.getElementById("turns");
  const send = document.getElementById("send");
  const errorBox = document.getElementById("chat-error");

  function bubble(role, text) {
    const empty = document.getElementById("chat-empty");
    if (empty) empty.remove();
    const div = document.createElement("div");
    div.className = "turn " + role;
    div.textContent = text;
    turns.append(div);
    div.scrollIntoView({ block: "end" });
    return div;
  }
  function sourceLink(c, conversation) {
    const a = document.createElement("a");
    a.href = c.kind === "record" ? "/records/" + c.id : "/chat/" + conversation + "/sources/" + c.kind + "/" + encodeURIComponent(c.id);
    a.textContent = c.title || c.kind + " " + c.id;
    return a;
  }
  // The finished answer: each [chunk:…]/[record:…] marker becomes a numbered link, and
  // the sources are listed under it.
  function render(el, text, citations, conversation) {
    const number = {};
    citations.forEach((c, i) => { number[c.kind + ":" + c.id] = { n: i + 1, c: c }; });
    el.textContent = "";
    let last = 0;
    const marker = /\[(chunk|record):([A-Za-z0-9\-]+)\]/g;
    let m;
    while ((m = marker.exec(text)) !== null) {
      const hit = number[m[1] + ":" + m[2]];
      if (!hit) continue;
      el.append(text.slice(last, m.index));
      const a = sourceLink(hit.c, conversation);
      a.textContent = "[" + hit.n + "]";
      a.className = "cite";
      a.setAttribute("aria-label", "source " + hit.n);
      el.append(a);
      last = m.index + m[0].length;
    }
    el.append(text.slice(last));
    if (citations.length) {
      const list = document.createElement("ol");
      list.className = "cites";
      citations.forEach((c) => { const li = document.createElement("li"); li.append(sourceLink(c, conversation)); list.append(li); });
      el.append(list);
    }
  }
  function fail(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }
  async function ask(question) {
    errorBox.hidden = true;
    bubble("user", question);
    const answer = bubble("assistant", "");
    answer.setAttribute("aria-busy", "true");
    send.disabled = true;
    const body = { question: question };
    if (root.dataset.conversation) body.conversation_id = root.dataset.conversation;
    try {
      const response = await shipdoc.api("/v1/chat", {
        method: "POST", headers: { "Content-Type": "application/json", Accept: "text/event-stream" }, body: JSON.stringify(body),
      });
      if (!response.ok) { answer.remove(); fail("No answer: " + (await shipdoc.errorMessage(response))); return; }
      const conversation = response.headers.get("X-Conversation-Id");
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      let deltas = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (block.startsWith(":")) continue;
          let name = "message", data = "";
          block.split("\n").forEach((line) => {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          });
          const event = data ? JSON.parse(data) : {};
          if (name === "delta") { answer.textContent += event.text; answer.dataset.deltas = String(++deltas); }
          else if (name === "done") {
            render(answer, event.answer, event.citations, event.conversation_id);
            answer.dataset.done = "true";
            root.dataset.conversation = event.conversation_id;
            history.replaceState(null, "", "/chat/" + event.conversation_id);
          } else if (name === "error") {
            answer.dataset.done = "error";
            fail(event.code === "model_unavailable" || event.code === "circuit_open"
              ? "The model is not reachable right now, so there is no answer. Try again in a minute. (" + event.message + ")"
              : "No answer: " + event.message);
          }
        }
      }
      if (conversation) root.dataset.conversation = root.dataset.conversation || conversation;
    } catch (e) {
      fail("The connection was lost before the answer was complete.");
    } finally {
      answer.removeAttribute("aria-busy");
      send.disabled = false;
      box.focus();
    }
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = box.value.trim();
    if (!q) return;
    box.value = "";
    ask(q);
  });
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
})();
