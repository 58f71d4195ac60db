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
            answer.textContent = event.answer;
            answer.dataset.done = "true";
            if (event.citations.length) {
              const cites = document.createElement("div");
              cites.className = "cites";
              cites.append("Sources: ");
              event.citations.forEach((c, i) => { if (i) cites.append(" · "); cites.append(sourceLink(c, event.conversation_id)); });
              answer.append(cites);
            }
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
