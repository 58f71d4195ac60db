"""The HTTP backend and the router against a real local HTTP server that fails on demand.

The server speaks just enough of the OpenAI chat API: each request takes the next action
of its script ("ok", "500", "400", "hang", or a raw content string to answer with).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agent.models import build_model
from agent.models.base import (
    ChatRequest,
    Message,
    ModelError,
    ModelTimeout,
    ModelUnavailable,
    ToolCall,
    ToolSpec,
)
from agent.models.openai_http import OpenAIChatModel
from agent.models.router import CircuitBreaker, CircuitOpen, Price, Route, RoutedModel
from agent.models.scripted import ScriptedModel
from agent.routing import tier_model
from core.settings import Settings
from tests.sim_model_server import SimServer


class FakeOpenAI:
    def __init__(self, name: str) -> None:
        self.name = name
        self.script: list[str] = []
        self.default = "ok"
        self.bodies: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def _next(self) -> str:
        return self.script.pop(0) if self.script else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.bodies.append(body)
                action = fake._next()
                if action == "hang":
                    fake.release.wait(10)
                    return
                if action in ("500", "400"):
                    self._send(int(action), {"error": {"message": f"scripted {action}"}})
                    return
                content = "ANSWER" if action == "ok" else action
                self._send(200, fake.completion(content))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def completion(self, content: str) -> dict[str, Any]:
        return {
            "id": "cmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": self.name,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200},
        }

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def primary() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("primary-model") as server:
        yield server


@pytest.fixture
def fallback() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("fallback-model") as server:
        yield server


@pytest.fixture
def clients() -> Iterator[list[OpenAIChatModel]]:
    made: list[OpenAIChatModel] = []
    yield made
    for client in made:
        client.close()


def _client(made: list[OpenAIChatModel], server: FakeOpenAI, **kw: Any) -> OpenAIChatModel:
    client = OpenAIChatModel(base_url=server.url, model=server.name, **kw)
    made.append(client)
    return client


def _request(timeout_s: float = 5.0) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content="hi")], timeout_s=timeout_s)


# --- the HTTP backend ------------------------------------------------------------------


def test_wire_format_of_tools_tool_results_and_llama_cpp_structured_output(
    primary: FakeOpenAI, clients: list[OpenAIChatModel]
) -> None:
    model = _client(clients, primary, structured_output="json_object")
    call = ToolCall(id="call_1", name="lookup_tariff", arguments_json='{"description": "tea"}')
    request = ChatRequest(
        messages=[
            Message(role="user", content="doc"),
            Message(role="assistant", content="", tool_calls=[call]),
            Message(role="tool", tool_call_id="call_1", content='{"hs": "0902"}'),
        ],
        tools=[
            ToolSpec(
                name="lookup_tariff",
                description="d",
                parameters={"type": "object", "properties": {"description": {"type": "string"}}},
            )
        ],
        tool_choice="lookup_tariff",
        json_schema={
            "type": "object",
            "properties": {"hs": {"type": "string", "pattern": r"\d+\.\d+"}},
        },
    )
    reply = model.chat(request)
    body = primary.bodies[0]
    assert body["model"] == "primary-model"
    assert body["messages"][1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup_tariff", "arguments": '{"description": "tea"}'},
            }
        ],
    }
    assert body["messages"][2] == {
        "role": "tool",
        "content": '{"hs": "0902"}',
        "tool_call_id": "call_1",
    }
    assert body["tool_choice"] == {"type": "function", "function": {"name": "lookup_tariff"}}
    assert body["response_format"] == {
        "type": "json_object",
        "schema": {"type": "object", "properties": {"hs": {"type": "string"}}},
    }
    assert reply.content == "ANSWER"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (1000, 200)
    assert reply.backend == "openai"


def test_vllm_structured_output_uses_json_schema(
    primary: FakeOpenAI, clients: list[OpenAIChatModel]
) -> None:
    model = _client(clients, primary)
    schema = {"type": "object", "properties": {"n": {"type": "string", "pattern": "^a$"}}}
    model.chat(_request().model_copy(update={"json_schema": schema, "json_schema_name": "Rec"}))
    assert primary.bodies[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Rec", "schema": schema},
    }


def test_tool_call_written_into_content_is_recovered(
    primary: FakeOpenAI, clients: list[OpenAIChatModel]
) -> None:
    primary.script = ['<tool_call>{"name": "get_page", "arguments": {"page": 2}}</tool_call>']
    model = _client(clients, primary)
    tools = [ToolSpec(name="get_page", description="d", parameters={"type": "object"})]
    reply = model.chat(_request().model_copy(update={"tools": tools}))
    assert [(c.name, c.arguments()) for c in reply.tool_calls] == [("get_page", {"page": 2})]
    assert reply.content == ""


@pytest.mark.parametrize(
    ("action", "error", "transient"),
    [("500", ModelUnavailable, True), ("400", ModelError, False), ("hang", ModelTimeout, True)],
)
def test_http_failures_map_to_typed_errors_without_sdk_retries(
    primary: FakeOpenAI,
    clients: list[OpenAIChatModel],
    action: str,
    error: type[ModelError],
    transient: bool,
) -> None:
    primary.default = action
    model = _client(clients, primary)
    with pytest.raises(error) as caught:
        model.chat(_request(timeout_s=0.5))
    assert caught.value.transient is transient
    assert len(primary.bodies) == 1  # the SDK did not retry on its own


def test_connection_refused_is_unavailable(clients: list[OpenAIChatModel]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = OpenAIChatModel(base_url=f"http://127.0.0.1:{port}/v1", model="m")
    clients.append(model)
    with pytest.raises(ModelUnavailable):
        model.chat(_request())


def _state(breaker: CircuitBreaker) -> str:
    return breaker.state


# --- the router ------------------------------------------------------------------------


def test_transient_failures_are_retried_with_exponential_backoff(
    primary: FakeOpenAI, clients: list[OpenAIChatModel]
) -> None:
    primary.script = ["500", "500"]
    waits: list[float] = []
    router = RoutedModel(
        Route(_client(clients, primary), retries=2), backoff_s=0.1, sleep=waits.append
    )
    reply = router.chat(_request())
    assert reply.content == "ANSWER"
    assert len(primary.bodies) == 3
    assert waits == [0.1, 0.2]


def test_persistent_failure_goes_to_the_fallback_with_its_price(
    primary: FakeOpenAI, fallback: FakeOpenAI, clients: list[OpenAIChatModel]
) -> None:
    primary.default = "500"
    router = RoutedModel(
        Route(_client(clients, primary), Price(1.0, 1.0), retries=1),
        Route(_client(clients, fallback), Price(2.5, 10.0), retries=1),
        backoff_s=0.0,
        sleep=lambda _s: None,
    )
    reply = router.chat(_request())
    assert reply.model == "fallback-model"
    assert len(primary.bodies) == 2
    assert len(fallback.bodies) == 1
    assert reply.cost_usd == pytest.approx((1000 * 2.5 + 200 * 10.0) / 1_000_000)


def test_a_hanging_primary_times_out_and_the_fallback_answers(
    primary: FakeOpenAI, fallback: FakeOpenAI, clients: list[OpenAIChatModel]
) -> None:
    primary.default = "hang"
    router = RoutedModel(
        Route(_client(clients, primary), retries=0), Route(_client(clients, fallback), retries=0)
    )
    assert router.chat(_request(timeout_s=0.3)).model == "fallback-model"


def test_client_errors_are_neither_retried_nor_sent_to_the_fallback(
    primary: FakeOpenAI, fallback: FakeOpenAI, clients: list[OpenAIChatModel]
) -> None:
    primary.default = "400"
    router = RoutedModel(
        Route(_client(clients, primary), retries=3),
        Route(_client(clients, fallback)),
        sleep=lambda _s: None,
    )
    with pytest.raises(ModelError, match="HTTP 400"):
        router.chat(_request())
    assert len(primary.bodies) == 1
    assert fallback.bodies == []


def test_circuit_breaker_opens_skips_the_primary_then_tries_it_again(
    primary: FakeOpenAI, fallback: FakeOpenAI, clients: list[OpenAIChatModel]
) -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=2, reset_s=30.0, clock=lambda: now[0])
    primary.default = "500"
    router = RoutedModel(
        Route(_client(clients, primary), retries=0),
        Route(_client(clients, fallback), retries=0),
        breaker=breaker,
    )
    for _ in range(2):
        assert router.chat(_request()).model == "fallback-model"
    assert _state(breaker) == "open"
    assert router.chat(_request()).model == "fallback-model"
    assert len(primary.bodies) == 2  # the third request did not reach the primary

    now[0] = 31.0  # half open: one trial request goes to the primary
    primary.default = "ok"
    assert router.chat(_request()).model == "primary-model"
    assert _state(breaker) == "closed"


def test_failed_trial_reopens_and_without_fallback_the_open_circuit_is_an_error(
    primary: FakeOpenAI, clients: list[OpenAIChatModel]
) -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=1, reset_s=10.0, clock=lambda: now[0])
    primary.default = "500"
    router = RoutedModel(Route(_client(clients, primary), retries=0), breaker=breaker)
    with pytest.raises(ModelUnavailable):
        router.chat(_request())
    with pytest.raises(CircuitOpen):
        router.chat(_request())
    now[0] = 11.0
    with pytest.raises(ModelUnavailable):
        router.chat(_request())  # the trial fails
    assert _state(breaker) == "open"
    assert len(primary.bodies) == 2


# --- configuration -----------------------------------------------------------------------


def test_vllm_primary_with_fallback_and_prices_from_environment_only(
    primary: FakeOpenAI, fallback: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "SHIPDOC_MODEL__BACKEND": "openai",
        "SHIPDOC_MODEL__BASE_URL": primary.url,
        "SHIPDOC_MODEL__NAME": "Qwen/Qwen2.5-72B-Instruct-AWQ",
        "SHIPDOC_MODEL__STRUCTURED_OUTPUT": "json_schema",
        "SHIPDOC_MODEL__RETRIES": "0",
        "SHIPDOC_MODEL__PRICE_PROMPT_PER_M": "0.5",
        "SHIPDOC_MODEL__PRICE_COMPLETION_PER_M": "1.5",
        "SHIPDOC_MODEL__FALLBACK_BASE_URL": fallback.url,
        "SHIPDOC_MODEL__FALLBACK_NAME": "hosted-model",
        "SHIPDOC_MODEL__FALLBACK_PRICE_PROMPT_PER_M": "2.5",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    model = build_model(Settings())
    assert model.name == "Qwen/Qwen2.5-72B-Instruct-AWQ"
    reply = model.chat(_request())
    assert primary.bodies[0]["model"] == "Qwen/Qwen2.5-72B-Instruct-AWQ"
    assert reply.cost_usd == pytest.approx((1000 * 0.5 + 200 * 1.5) / 1_000_000)
    primary.default = "500"
    reply = model.chat(_request())
    assert fallback.bodies[0]["model"] == "hosted-model"
    assert reply.cost_usd == pytest.approx(1000 * 2.5 / 1_000_000)
    assert isinstance(model, RoutedModel)
    for route in (model.primary, model.fallback):
        assert route is not None and isinstance(route.model, OpenAIChatModel)
        route.model.close()


def test_misconfiguration_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPDOC_MODEL__BACKEND", "openai")
    with pytest.raises(ModelError, match="SHIPDOC_MODEL__BASE_URL is required"):
        build_model(Settings())
    monkeypatch.setenv("SHIPDOC_MODEL__BACKEND", "local")
    monkeypatch.setenv("SHIPDOC_MODEL__NAME", "llama-70b")
    with pytest.raises(ModelError, match="not a known local model"):
        build_model(Settings())
    monkeypatch.setenv("SHIPDOC_MODEL__BACKEND", "scripted")
    with pytest.raises(ModelError, match="SCRIPT_PATH is required"):
        build_model(Settings())


@pytest.mark.parametrize("tier", ["hosted", "local_large"])
def test_the_routed_tiers_honour_the_breaker_settings(
    fallback: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tier: str
) -> None:
    """SHIPDOC_MODEL__BREAKER_FAILURES / __BREAKER_RESET_S hold for every routed tier, not
    only the primary: one failure opens this tier's circuit, for the configured time."""
    env = {
        "SHIPDOC_MODEL__BACKEND": "scripted",
        "SHIPDOC_MODEL__RETRIES": "0",
        "SHIPDOC_MODEL__BREAKER_FAILURES": "1",
        "SHIPDOC_MODEL__BREAKER_RESET_S": "45",
        "SHIPDOC_MODEL__FALLBACK_BASE_URL": fallback.url,
        "SHIPDOC_OPS__ROUTING": "true",
        "SHIPDOC_OPS__LARGE__NAME": "large",
        "SHIPDOC_OPS__LARGE__BASE_URL": fallback.url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    fallback.default = "500"
    model = tier_model(Settings(), tier, ScriptedModel([]))  # type: ignore[arg-type]
    with pytest.raises(ModelUnavailable):
        model.chat(_request())
    with pytest.raises(CircuitOpen, match="retrying in at most 45 s"):
        model.chat(_request())
    assert len(fallback.bodies) == 1  # the second request never reached the server


def test_a_stream_that_keeps_trickling_ends_at_its_deadline() -> None:
    """Each token arrives well within the read timeout, but the answer as a whole must not
    outlive the request's deadline (a worker would be held for max_tokens reads)."""
    with SimServer() as sim:
        sim.behaviour.token_delay = 0.25  # the plain answer has 7 words: ~1.5 s in all
        model = OpenAIChatModel(base_url=sim.url, model="sim")
        try:
            request = _request(timeout_s=0.6)
            started = time.monotonic()
            with pytest.raises(ModelTimeout, match=r"not finished within 0\.6 s"):
                model.stream(request, lambda _text: None)
            assert time.monotonic() - started < 1.2
            sim.behaviour.token_delay = 0.0
            answer = model.stream(request, lambda _text: None)
            assert answer.content.startswith("The sources do not answer")
        finally:
            model.close()
