"""The service on PostgreSQL and Redis with real Celery worker processes and a simulated
OpenAI-compatible model server: uploads end to end, duplicates, a worker killed with
SIGKILL mid-task, and a failing model endpoint."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.api import create_app
from core import migrate
from core.auth import create_key
from core.db import session_scope
from core.models import AgentRun, Job, Record, Role
from core.settings import Settings
from kb.index import close_local_clients
from kb.ingest import ingest
from kb.search import get_kb
from tests.service_harness import WorkerProcess, auth, wait_for
from tests.sim_model_server import SimServer, invoice_pdf

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

FINAL = ("extracted", "needs_review", "failed", "rejected")


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(latency=0.05) as server:
        yield server


@pytest.fixture
def service_settings(
    tmp_path: Path, postgres_url: str, redis_url: str, sim: SimServer
) -> Iterator[Settings]:
    migrate.upgrade(postgres_url)
    settings = Settings(
        environment="test",
        var_dir=tmp_path / "var",
        database_url=postgres_url,
        # Time is compressed here (a 2 s outage budget): the process-wide breaker must half-open
        # within it too, or a retried document meets a circuit that is still open.
        model={
            "backend": "openai",
            "base_url": sim.url,
            "name": "sim",
            "retries": 0,
            "breaker_reset_s": 0.5,
        },
        service={
            "broker_url": redis_url,
            "key_prefix": f"shipdoc-test-{uuid.uuid4().hex[:8]}:",
            "lease_s": 3.0,
            "visibility_timeout_s": 4,
            "retry_backoff_s": 0.2,
            "max_attempts": 3,
        },
        # These tests count the model's requests: no warm-up request at worker start.
        telemetry={"warmup": "off"},
        reliability={"model_outage_budget_s": 2.0, "model_outage_retry_s": 0.5},
    )
    yield settings
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=settings.service.key_prefix + "*"):
        client.delete(key)
    client.close()


@pytest.fixture
def client(service_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(service_settings)) as c:
        yield c


@pytest.fixture
def token(service_settings: Settings) -> str:
    return create_key(service_settings.database_url, Role.ADMIN, "test").token


def _upload(client: TestClient, token: str, name: str, data: bytes) -> dict[str, Any]:
    response = client.post(
        "/v1/documents", files=[("files", (name, data, "application/pdf"))], headers=auth(token)
    )
    assert response.status_code in (200, 202), response.text
    item: dict[str, Any] = response.json()["documents"][0]
    return item


def _final(client: TestClient, token: str, doc_id: int) -> dict[str, Any] | None:
    doc: dict[str, Any] = client.get(f"/v1/documents/{doc_id}", headers=auth(token)).json()
    done = doc["status"] in FINAL and doc["job"]["state"] in ("done", "failed")
    return doc if done else None


def _runs(url: str, doc_id: int) -> list[str]:
    with session_scope(url) as session:
        return list(session.scalars(select(AgentRun.outcome).where(AgentRun.document_id == doc_id)))


def test_upload_is_processed_by_a_worker_and_a_duplicate_returns_the_same_id(
    client: TestClient, token: str, service_settings: Settings, tmp_path: Path
) -> None:
    worker = WorkerProcess(service_settings, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        data = invoice_pdf("INV-2001")
        first = _upload(client, token, "inv.pdf", data)
        assert first["duplicate"] is False
        doc = wait_for(lambda: _final(client, token, first["document_id"]), 60, "processing")
        assert doc["status"] == "extracted", doc
        assert doc["job"]["state"] == "done" and doc["job"]["attempts"] == 1
        records = client.get("/v1/records", params={"q": "INV-2001"}, headers=auth(token)).json()
        assert records["total"] == 1
        assert records["items"][0]["document_id"] == first["document_id"]

        again = _upload(client, token, "copy-of-inv.pdf", data)
        assert again["duplicate"] is True
        assert again["document_id"] == first["document_id"]
    finally:
        worker.stop()
    assert _runs(service_settings.database_url, first["document_id"]) == ["extracted"]


def test_a_worker_killed_mid_task_is_redelivered_and_the_document_completes_once(
    client: TestClient, token: str, service_settings: Settings, sim: SimServer, tmp_path: Path
) -> None:
    url = service_settings.database_url
    sim.behaviour.latency = 60.0  # the first worker will be inside a model call
    first = WorkerProcess(service_settings, tmp_path / "worker1.log")
    first.wait_ready()
    doc_id = _upload(client, token, "inv.pdf", invoice_pdf("INV-3001"))["document_id"]
    try:
        wait_for(lambda: sim.behaviour.requests >= 1, 60, "the model request of worker 1")
        assert _runs(url, doc_id) == ["running"]
    finally:
        first.kill()
    sim.behaviour.latency = 0.05
    second = WorkerProcess(service_settings, tmp_path / "worker2.log")
    try:
        second.wait_ready()
        doc = wait_for(lambda: _final(client, token, doc_id), 90, "redelivery and completion")
    finally:
        second.stop()
    assert doc["status"] == "extracted", doc
    assert doc["job"]["attempts"] == 2
    outcomes = _runs(url, doc_id)
    assert outcomes.count("extracted") == 1, outcomes
    assert sorted(outcomes) == ["extracted", "failed"]  # the lost run is closed, not repeated
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).where(Record.document_id == doc_id)) == 1


def test_a_failing_model_endpoint_is_retried_then_the_document_fails_with_the_reason(
    client: TestClient, token: str, service_settings: Settings, sim: SimServer, tmp_path: Path
) -> None:
    httpx.post(sim.base + "/control", json={"fail_count": -1, "fail_status": 503})
    worker = WorkerProcess(service_settings, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        doc_id = _upload(client, token, "inv.pdf", invoice_pdf("INV-4001"))["document_id"]
        doc = wait_for(lambda: _final(client, token, doc_id), 60, "the retries to run out")
        assert doc["status"] == "failed"
        assert doc["error_code"] == "model_unavailable"
        # A model outage is retried for its time budget (here 2 s), not by attempts.
        assert "gave up after the model was unavailable for" in doc["error_message"]
        assert sim.behaviour.failures >= 3
        failed = client.get("/v1/documents", params={"status": "failed"}, headers=auth(token))
        assert [d["id"] for d in failed.json()["items"]] == [doc_id]
        with session_scope(service_settings.database_url) as session:
            job = session.scalars(select(Job).where(Job.document_id == doc_id)).one()
            assert job.state == "failed"

        # The model is back: an admin queues the document again and it completes.
        httpx.post(sim.base + "/control", json={"fail_count": 0})
        retried = client.post(f"/v1/documents/{doc_id}/retry", headers=auth(token))
        assert retried.status_code == 202, retried.text
        doc = wait_for(lambda: _final(client, token, doc_id), 60, "the retried document")
        again = client.post(f"/v1/documents/{doc_id}/retry", headers=auth(token))
    finally:
        worker.stop()
    assert doc["status"] == "extracted" and doc["error_code"] is None, doc
    assert doc["job"]["attempts"] == 1
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_failed"


HOLD = """# Procedure: customs hold

## When a container is held

Keep the container in the bonded area. Notify the customs broker within 2 hours and
send the commercial invoice and packing list.
"""


def test_chat_is_answered_by_the_interactive_pool_while_extraction_is_busy(
    service_settings: Settings, sim: SimServer, token: str, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "procedure-customs-hold.md").write_text(HOLD)
    kb = service_settings.kb.model_copy(
        update={"docs_dir": docs, "qdrant_path": service_settings.var_dir / "qdrant"}
    )
    settings = service_settings.model_copy(update={"kb": kb})
    question = "What do we do when customs holds a container?"
    ingest(settings, "docs")
    [top] = get_kb(settings).search_docs(question, top=1)
    close_local_clients()  # Qdrant local mode: the interactive worker opens it next
    sim.behaviour.latency = 60.0  # extraction requests hang in the model ...
    sim.behaviour.chat_latency = 0.05  # ... chat requests do not
    # Qdrant local mode admits one process per folder (production runs a Qdrant server):
    # the extraction worker gets its own, empty one (its tariff lookups find nothing).
    own = kb.model_copy(update={"qdrant_path": tmp_path / "qdrant-extract"})
    extract_settings = settings.model_copy(update={"kb": own})
    extract = WorkerProcess(extract_settings, tmp_path / "extract.log", queues="extract")
    interactive = WorkerProcess(settings, tmp_path / "interactive.log", queues="interactive")
    try:
        extract.wait_ready()
        interactive.wait_ready()
        with TestClient(create_app(settings)) as client:
            doc_id = _upload(client, token, "inv.pdf", invoice_pdf("INV-5001"))["document_id"]
            wait_for(lambda: sim.behaviour.requests >= 1, 60, "the extraction's model request")
            response = client.post("/v1/chat", json={"question": question}, headers=auth(token))
            busy = client.get(f"/v1/documents/{doc_id}", headers=auth(token)).json()
    finally:
        extract.kill()
        interactive.stop()
    assert response.status_code == 200, response.text
    blocks = [b for b in response.text.strip().split("\n\n") if b and not b.startswith(":")]
    assert blocks[0].startswith("event: sources") and blocks[-1].startswith("event: done")
    done = json.loads(blocks[-1].split("data: ", 1)[1])
    assert [c["id"] for c in done["citations"]] == [top.chunk_id]
    assert f"[chunk:{top.chunk_id}]" in done["answer"]
    assert "Notify the customs broker" in done["citations"][0]["text"]
    assert busy["status"] not in FINAL  # the extraction was still in the model
