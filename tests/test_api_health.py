"""Liveness, readiness (each dependency checked and named) and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from core.auth import create_key
from core.models import Role
from core.settings import Settings
from kb.index import close_local_clients
from tests.service_harness import auth, embedded_settings, wait_for
from tests.sim_model_server import SimServer, invoice_pdf


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(latency=0.0) as server:
        yield server


@pytest.fixture
def app_settings(tmp_path: Path, sim: SimServer) -> Iterator[Settings]:
    yield embedded_settings(tmp_path / "var", sim.url)
    close_local_clients()


def test_ready_when_every_dependency_answers(
    app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.api.health._check_kb", lambda settings: "collections ok")
    with TestClient(create_app(app_settings)) as client:
        admin = create_key(app_settings.database_url, Role.ADMIN, "a").token
        response = client.get("/readyz", headers=auth(admin))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"database", "broker", "kb", "model"}
    assert body["checks"]["database"]["detail"].startswith("schema ")
    assert "in-process" in body["checks"]["broker"]["detail"]


def test_not_ready_names_the_model_endpoint_that_is_down(app_settings: Settings) -> None:
    down = app_settings.model.model_copy(update={"base_url": "http://127.0.0.1:9/v1"})
    with TestClient(create_app(app_settings.model_copy(update={"model": down}))) as client:
        admin = create_key(app_settings.database_url, Role.ADMIN, "a").token
        response = client.get("/readyz", headers=auth(admin))
        anonymous = client.get("/readyz").json()
        assert client.get("/healthz").status_code == 200
    assert anonymous["checks"]["model"] == {"ok": False, "detail": "unavailable"}
    assert "127.0.0.1" not in str(anonymous)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["model"]["ok"] is False and "127.0.0.1:9" in checks["model"]["detail"]
    assert checks["database"]["ok"] is True


@pytest.mark.redis
def test_not_ready_when_the_broker_is_down(app_settings: Settings) -> None:
    service = app_settings.service.model_copy(update={"broker_url": "redis://127.0.0.1:9/0"})
    with TestClient(create_app(app_settings.model_copy(update={"service": service}))) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_metrics_count_documents_runs_and_tokens(app_settings: Settings) -> None:
    with TestClient(create_app(app_settings)) as client:
        token = create_key(app_settings.database_url, Role.UPLOADER, "u").token
        files = [("files", ("i.pdf", invoice_pdf("INV-8001"), "application/pdf"))]
        doc_id = client.post("/v1/documents", files=files, headers=auth(token)).json()["documents"][
            0
        ]["document_id"]

        def done() -> bool:
            doc = client.get(f"/v1/documents/{doc_id}", headers=auth(token)).json()
            return doc["job"]["state"] == "done"

        wait_for(done, 60, "processing")
        text = client.get("/metrics").text
    assert 'shipdoc_documents{status="extracted"} 1.0' in text
    assert 'shipdoc_jobs{state="done"} 1.0' in text
    assert 'shipdoc_agent_run_seconds_count{outcome="extracted"} 1.0' in text
    assert 'shipdoc_queue_depth{queue="extract"} 0.0' in text
    prompt = next(
        line
        for line in text.splitlines()
        if line.startswith('shipdoc_model_tokens_total{kind="prompt"}')
    )
    assert float(prompt.split()[-1]) > 0


def test_not_ready_without_knowledge_base_collections(
    app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb.guard import CollectionStatus

    missing = [CollectionStatus(collection="shipdoc_hs2022", status="missing")]
    monkeypatch.setattr("app.api.health.check_embedder", lambda settings: missing)
    with TestClient(create_app(app_settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["kb"] == {"ok": False, "detail": "unavailable"}
