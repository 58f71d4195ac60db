"""Traces: the span tree of one document run (in-memory exporter), GenAI attributes on
model spans, content only when capture is on, and OTLP/HTTP export to a local receiver."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from agent.models.base import ChatRequest, Message
from agent.models.scripted import ScriptedModel
from agent.models.tracing import TracedModel
from app.api import create_app
from core import migrate, telemetry
from core.auth import create_key
from core.models import Role
from core.settings import Settings, TelemetrySettings
from kb import index, ingest
from kb.search import KnowledgeBase
from tests.service_harness import ROOT, WorkerProcess, auth, embedded_settings, wait_for
from tests.sim_model_server import SimServer, invoice_pdf

EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    # One provider per process: the first test that needs one installs the in-memory one.
    assert telemetry.configure(TelemetrySettings(), exporter=EXPORTER)
    EXPORTER.clear()
    yield EXPORTER
    telemetry.configure(TelemetrySettings())
    EXPORTER.clear()


def _tree(found: tuple[ReadableSpan, ...], root: ReadableSpan) -> dict[str, Any]:
    """``{name: {child name: {...}}}`` below ``root``, SQL statements left out."""
    children = [
        s
        for s in found
        if s.parent is not None
        and s.parent.span_id == root.context.span_id
        and s.attributes is not None
        and "db.system" not in s.attributes
        and "db.system.name" not in s.attributes
    ]
    out: dict[str, Any] = {}
    for child in sorted(children, key=lambda s: s.start_time or 0):
        out.setdefault(child.name, {}).update(_tree(found, child))
    return out


def _named(found: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    return next(s for s in found if s.name == name)


def test_one_document_run_gives_one_span_tree(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    with SimServer(latency=0.0) as sim:
        settings = embedded_settings(tmp_path / "var", sim.url)
        with TestClient(create_app(settings)) as client:
            token = create_key(settings.database_url, Role.ADMIN, "t").token
            files = [("files", ("invoice.pdf", invoice_pdf("INV-7001"), "application/pdf"))]
            response = client.post("/v1/documents", files=files, headers=auth(token))
            assert response.status_code == 202
            [item] = response.json()["documents"]

            def done() -> bool:
                return any(s.name == "process document" for s in spans.get_finished_spans())

            wait_for(done, 60, "the document's task span")
    found = spans.get_finished_spans()
    upload = _named(found, "POST /v1/documents")
    assert upload.parent is None
    tree = _tree(found, upload)
    task = tree["send shipdoc.process_document"]["process document"]
    assert task["shipdoc.parse"] == {"shipdoc.parse.page": {}}
    extraction = task["shipdoc.extract_document"]
    assert "shipdoc.classify" in extraction
    run = extraction["shipdoc.agent_run"]
    assert run["chat sim"] == {}
    assert run["execute_tool write_back"] == {"shipdoc.write_back": {}}
    assert len({s.context.trace_id for s in found if s.name.startswith(("chat", "shipdoc"))}) == 1

    chat = _named(found, "chat sim")
    attrs = dict(chat.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "sim"
    assert attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["gen_ai.usage.output_tokens"] > 0
    assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("stop",)
    assert attrs["shipdoc.model.purpose"] == "extract"
    # Document text is not recorded unless content capture is on.
    assert not any("INV-7001" in str(v) for s in found for v in (s.attributes or {}).values())
    process = _named(found, "process document")
    assert (process.attributes or {})["shipdoc.document_id"] == item["document_id"]


def test_content_is_captured_only_when_the_setting_is_on(spans: InMemorySpanExporter) -> None:
    model = TracedModel(ScriptedModel(["secret reply"], name="m"))
    request = ChatRequest(messages=[Message(role="user", content="secret prompt")])
    model.chat(request)
    telemetry.configure(TelemetrySettings(capture_content=True))
    TracedModel(ScriptedModel(["secret reply"], name="m")).chat(request)
    off, on = spans.get_finished_spans()
    assert "gen_ai.input.messages" not in (off.attributes or {})
    assert "secret prompt" in str((on.attributes or {})["gen_ai.input.messages"])
    assert (on.attributes or {})["gen_ai.output.messages"] == "secret reply"


class _Receiver(BaseHTTPRequestHandler):
    requests: list[tuple[str, bytes]] = []
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with type(self).lock:
            type(self).requests.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()


@contextmanager
def _receiver() -> Iterator[str]:
    """An OTLP/HTTP receiver on a free local port; yields its endpoint."""
    _Receiver.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _received() -> dict[str, Any]:
    """Every exported span by name (the last one of a name wins)."""
    names: dict[str, Any] = {}
    with _Receiver.lock:
        bodies = [body for _, body in _Receiver.requests]
    for body in bodies:
        export = ExportTraceServiceRequest.FromString(body)
        for resource in export.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    names[span.name] = span
    return names


def test_spans_are_exported_over_otlp_http_when_the_endpoint_is_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPDOC_", "OTEL_"))}
    code = (
        "from core import telemetry\n"
        "from agent.models.scripted import ScriptedModel\n"
        "from agent.models.tracing import TracedModel\n"
        "from agent.models.base import ChatRequest, Message\n"
        "assert telemetry.configure()\n"
        "with telemetry.span('shipdoc.extract_document'):\n"
        "    TracedModel(ScriptedModel(['ok'], name='qwen')).chat(\n"
        "        ChatRequest(messages=[Message(role='user', content='hi')]))\n"
    )
    with _receiver() as endpoint:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    assert {path for path, _ in _Receiver.requests} == {"/v1/traces"}
    names = _received()
    assert set(names) == {"shipdoc.extract_document", "chat qwen"}
    attrs = {a.key: a.value for a in names["chat qwen"].attributes}
    assert attrs["gen_ai.request.model"].string_value == "qwen"
    assert attrs["gen_ai.usage.output_tokens"].int_value == 1
    assert names["chat qwen"].parent_span_id == names["shipdoc.extract_document"].span_id


@pytest.mark.postgres
@pytest.mark.redis
def test_the_trace_crosses_the_queue_to_a_celery_worker(
    tmp_path: Path,
    postgres_url: str,
    redis_url: str,
    spans: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The API (in-memory exporter) queues through Redis; the worker process exports over
    OTLP; the worker's spans continue the upload's trace."""
    migrate.upgrade(postgres_url)
    with SimServer(latency=0.0) as sim, _receiver() as endpoint:
        settings = Settings(
            environment="test",
            var_dir=tmp_path / "var",
            database_url=postgres_url,
            model={"backend": "openai", "base_url": sim.url, "name": "sim", "retries": 0},
            service={"broker_url": redis_url, "key_prefix": f"i13-{uuid.uuid4().hex[:8]}:"},
        )
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        worker = WorkerProcess(settings, tmp_path / "worker.log")
        try:
            worker.wait_ready()
            with TestClient(create_app(settings)) as client:
                token = create_key(settings.database_url, Role.ADMIN, "t").token
                files = [("files", ("inv.pdf", invoice_pdf("INV-7002"), "application/pdf"))]
                response = client.post("/v1/documents", files=files, headers=auth(token))
                assert response.status_code == 202, response.text
            wait_for(lambda: "process document" in _received(), 90, "the worker's spans")
        finally:
            worker.stop()
    upload = _named(spans.get_finished_spans(), "POST /v1/documents")
    send = _named(spans.get_finished_spans(), "send shipdoc.process_document")
    received = _received()
    process = received["process document"]
    assert process.trace_id == upload.context.trace_id.to_bytes(16, "big")
    assert process.parent_span_id == send.context.span_id.to_bytes(8, "big")
    assert received["chat sim"].trace_id == process.trace_id
    assert any(span.trace_id == process.trace_id for span in _sql_spans())


def _sql_spans() -> list[Any]:
    with _Receiver.lock:
        bodies = [body for _, body in _Receiver.requests]
    return [
        span
        for body in bodies
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans
        for scope in resource.scope_spans
        if "sqlalchemy" in scope.scope.name
        for span in scope.spans
    ]


def test_nothing_is_exported_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in telemetry.ENDPOINT_VARS:
        monkeypatch.delenv(name, raising=False)
    assert not telemetry.endpoint_configured()


def test_a_knowledge_base_search_is_a_span_and_a_latency(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    chunks = [
        c for c in ingest.load_chunks(settings, "hs2022") if str(c.payload["code"])[:4] == "8712"
    ]
    ingest.ingest(settings, "hs2022", chunks=chunks)
    before = REGISTRY.get_sample_value("shipdoc_retrieval_seconds_count", {"collection": "hs2022"})
    try:
        with telemetry.span("parent"):
            KnowledgeBase(settings).points("bicycles", top=3)
    finally:
        index.close_local_clients()
    search = _named(spans.get_finished_spans(), "shipdoc.kb.search")
    assert search.parent is not None
    assert (search.attributes or {})["shipdoc.kb.corpus"] == "hs2022"
    assert (search.attributes or {})["shipdoc.kb.hits"] >= 1
    after = REGISTRY.get_sample_value("shipdoc_retrieval_seconds_count", {"collection": "hs2022"})
    assert (after or 0) == (before or 0) + 1
