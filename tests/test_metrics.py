"""``/metrics``: the families an operator alerts on, after one document ran in process;
worker heartbeats through Redis."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.api import create_app
from core.auth import create_key
from core.models import Role
from tests.service_harness import auth, embedded_settings, wait_for
from tests.sim_model_server import SimServer, invoice_pdf
from workers import presence

FAMILIES = {
    # documents by outcome, errors, jobs
    "shipdoc_documents",
    "shipdoc_document_errors",
    "shipdoc_jobs",
    # queues: depth and age per queue
    "shipdoc_queue_depth",
    "shipdoc_queue_oldest_age_seconds",
    # rates for alerts
    "shipdoc_needs_review_ratio",
    "shipdoc_fallback_ratio",
    # workers and the embedding guard
    "shipdoc_workers",
    "shipdoc_workers_ready",
    "shipdoc_worker_heartbeat_age_seconds",
    "shipdoc_embedding_guard",
    # in-process instruments: stages, model requests / tokens / cost, retrieval, fallbacks
    "shipdoc_stage_seconds",
    "shipdoc_model_requests",
    "shipdoc_model_request_tokens",
    "shipdoc_model_request_seconds",
    "shipdoc_model_cost_usd",
    "shipdoc_model_fallbacks",
    "shipdoc_retrieval_seconds",
}


def _scrape(client: TestClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = client.get("/metrics").text
    return {
        f.name: [(s.labels, s.value) for s in f.samples]
        for f in text_string_to_metric_families(text)
    }


def test_metrics_show_every_family_after_a_document(tmp_path: Path) -> None:
    with SimServer(latency=0.0) as sim:
        settings = embedded_settings(tmp_path / "var", sim.url)
        settings = settings.model_copy(
            update={"model": settings.model.model_copy(update={"price_prompt_per_m": 1.0})}
        )
        with TestClient(create_app(settings)) as client:
            token = create_key(settings.database_url, Role.ADMIN, "t").token
            files = [("files", ("inv.pdf", invoice_pdf("INV-8001"), "application/pdf"))]
            doc_id = client.post("/v1/documents", files=files, headers=auth(token)).json()[
                "documents"
            ][0]["document_id"]

            def done() -> bool:
                doc = client.get(f"/v1/documents/{doc_id}", headers=auth(token)).json()
                return bool(doc["job"] and doc["job"]["state"] == "done")

            wait_for(done, 60, "the document")
            found = _scrape(client)
    missing = FAMILIES - set(found)
    assert not missing, missing
    statuses = {labels["status"]: v for labels, v in found["shipdoc_documents"]}
    assert statuses["extracted"] == 1
    assert {labels["queue"] for labels, _ in found["shipdoc_queue_oldest_age_seconds"]} >= {
        "extract",
        "interactive",
        "kb",
    }
    assert {labels["queue"]: v for labels, v in found["shipdoc_workers"]}["extract"] == 1
    stages = {labels["stage"] for labels, _ in found["shipdoc_stage_seconds"] if "stage" in labels}
    assert {"parse", "classify", "extract", "write_back"} <= stages
    requests = [
        (labels, v)
        for labels, v in found["shipdoc_model_requests"]
        if labels.get("model") == "sim" and labels.get("result") == "ok"
    ]
    assert sum(v for _, v in requests) >= 1
    assert any(labels["purpose"] == "extract" for labels, _ in requests)
    costs = [v for labels, v in found["shipdoc_model_cost_usd"] if labels.get("model") == "sim"]
    assert sum(costs) > 0


@pytest.mark.redis
def test_worker_heartbeats_expire_when_a_worker_is_gone(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    prefix = f"i13-{uuid.uuid4().hex[:8]}:"
    try:
        thread = presence.HeartbeatThread(client, prefix, "extract").start()
        [beat] = presence.read(client, prefix)
        assert (beat.queue, beat.ready) == ("extract", False)
        thread.mark_ready()
        [beat] = presence.read(client, prefix)
        assert beat.ready and beat.age_s < 5
        later = presence.read(client, prefix, now=time.time() + 30)
        assert later[0].age_s >= 29
        thread.stop()
        assert presence.read(client, prefix) == []
        presence.beat(client, prefix, "w1", "kb", ready=True)
        assert client.ttl(f"{prefix}worker:w1") <= presence.TTL_S
    finally:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()
