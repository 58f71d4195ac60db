"""The fault suite (issue 10): real processes (a Redis and a PostgreSQL of their own, a
`shipdoc worker`, the API on a real HTTP server, the simulated model server) and one fault
each. For each: every uploaded document ends with a final outcome, no page group has two
completed runs, and the API answers JSON (503 with Retry-After while a dependency is down).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from app.api import create_app
from core import migrate
from core.auth import create_key
from core.db import get_engine, session_scope
from core.models import AgentRun, Role
from core.settings import Settings
from tests.faults.processes import PostgresProcess, RedisProcess
from tests.service_harness import WorkerProcess, auth, wait_for
from tests.sim_model_server import SimServer, invoice_pdf

pytestmark = [pytest.mark.slow, pytest.mark.faults]
FINAL = {"extracted", "needs_review", "failed", "rejected"}


@dataclass
class Stack:
    settings: Settings
    api: str
    token: str
    sim: SimServer
    redis: RedisProcess
    postgres: PostgresProcess
    tmp: Path
    workers: list[WorkerProcess]

    def worker(self) -> WorkerProcess:
        worker = WorkerProcess(self.settings, self.tmp / f"worker-{len(self.workers)}.log")
        self.workers.append(worker)
        worker.wait_ready(90)
        return worker

    def upload(self, n: int, prefix: str) -> list[int]:
        ids = []
        for i in range(n):
            files = {
                "files": (f"{prefix}-{i}.pdf", invoice_pdf(f"INV-{prefix}-{i}"), "application/pdf")
            }
            response = httpx.post(
                f"{self.api}/v1/documents", files=files, headers=auth(self.token), timeout=30
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["documents"][0]["document_id"])
        return ids

    def docs(self, ids: list[int]) -> list[dict[str, Any]]:
        return [
            httpx.get(f"{self.api}/v1/documents/{i}", headers=auth(self.token), timeout=30).json()
            for i in ids
        ]

    def wait_final(self, ids: list[int], timeout_s: float) -> list[dict[str, Any]]:
        def final() -> list[dict[str, Any]] | None:
            docs = self.docs(ids)
            done = all(
                d["status"] in FINAL and d["job"] and d["job"]["state"] in ("done", "failed")
                for d in docs
            )
            return docs if done else None

        return wait_for(final, timeout_s, f"{len(ids)} documents to reach an outcome", 0.5)

    def duplicate_completed_runs(self) -> int:
        with session_scope(self.settings.database_url) as session:
            rows = session.execute(
                select(AgentRun.document_id, AgentRun.page_first, func.count())
                .where(AgentRun.outcome.in_(["extracted", "needs_review"]))
                .group_by(AgentRun.document_id, AgentRun.page_first)
                .having(func.count() > 1)
            ).all()
        return len(rows)


@pytest.fixture
def stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    persistent = "with_persistence" in request.node.name
    postgres = PostgresProcess().init()
    redis = RedisProcess(tmp_path / "redis", persistent=persistent).start()
    with SimServer(latency=0.3) as sim:
        settings = Settings(
            environment="test",
            var_dir=tmp_path / "var",
            database_url=postgres.url,
            model={
                "backend": "openai",
                "base_url": sim.url,
                "name": "sim",
                "retries": 0,
                "timeout_s": 3.0,
            },
            service={
                "broker_url": redis.url,
                "lease_s": 3.0,
                "visibility_timeout_s": 6,
                "retry_backoff_s": 0.2,
                "max_attempts": 4,
            },
            reliability={
                "reconcile_grace_s": 4.0,
                "reconcile_interval_s": 1.0,
                "model_outage_retry_s": 1.0,
            },
            telemetry={"warmup": "off"},
        )
        migrate.upgrade(settings.database_url)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        wait_for(lambda: server.started, 30, "the API")
        token = create_key(settings.database_url, Role.ADMIN, "faults").token
        api = f"http://127.0.0.1:{sock.getsockname()[1]}"
        stack = Stack(settings, api, token, sim, redis, postgres, tmp_path, [])
        try:
            yield stack
        finally:
            for worker in stack.workers:
                worker.stop()
            server.should_exit = True
            thread.join(timeout=30)
            sock.close()
            get_engine(settings.database_url).dispose()
            get_engine.cache_clear()
            redis.kill()
            postgres.remove()


def _report(
    name: str, uploaded: int, docs: list[dict[str, Any]], stack: Stack, **extra: Any
) -> None:
    outcomes: dict[str, int] = {}
    for doc in docs:
        outcomes[doc["status"]] = outcomes.get(doc["status"], 0) + 1
    figures = "".join(f", {k}={v}" for k, v in extra.items())
    duplicates = stack.duplicate_completed_runs()
    print(
        f"\nfault {name}: uploaded {uploaded}, final {len(docs)} {outcomes}, "
        f"duplicate completed runs {duplicates}{figures}"
    )


def test_redis_restarted_without_persistence_loses_no_document(stack: Stack) -> None:
    stack.worker()
    ids = stack.upload(8, "redis")
    wait_for(lambda: any(d["status"] != "received" for d in stack.docs(ids)), 60, "work to start")
    stack.redis.kill()  # every queued message is gone
    upload = httpx.post(
        f"{stack.api}/v1/documents",
        files={"files": ("x.pdf", invoice_pdf("INV-DOWN"), "application/pdf")},
        headers=auth(stack.token),
        timeout=30,
    )
    listing = httpx.get(f"{stack.api}/v1/documents", headers=auth(stack.token), timeout=30)
    assert upload.status_code == 503 and upload.headers["content-type"] == "application/json"
    assert "retry-after" in upload.headers
    assert listing.status_code == 200
    time.sleep(1)
    stack.redis.start()
    docs = stack.wait_final(ids, 180)
    _report("redis-restart-nosave", len(ids), docs, stack, upload_while_down=upload.status_code)
    assert all(d["status"] == "extracted" for d in docs), [(d["id"], d["status"]) for d in docs]
    assert stack.duplicate_completed_runs() == 0


def test_model_500s_then_recovery_loses_no_document(stack: Stack) -> None:
    httpx.post(stack.sim.base + "/control", json={"fail_count": -1, "fail_status": 500})
    stack.worker()
    ids = stack.upload(4, "m500")
    time.sleep(12)  # a restart of the model server; documents wait, visibly retrying
    retrying = [d for d in stack.docs(ids) if d["job"] and d["job"]["state"] == "retrying"]
    httpx.post(stack.sim.base + "/control", json={"fail_count": 0})
    docs = stack.wait_final(ids, 180)
    _report("model-500s-12s", len(ids), docs, stack, retrying_during_outage=len(retrying))
    assert retrying, "documents should show that they are waiting for the model"
    assert all(d["status"] == "extracted" for d in docs)
    assert stack.duplicate_completed_runs() == 0


def test_worker_sigkill_loses_no_document(stack: Stack) -> None:
    first = stack.worker()
    ids = stack.upload(6, "kill")
    wait_for(lambda: any(d["status"] != "received" for d in stack.docs(ids)), 60, "work to start")
    first.kill()
    stack.worker()
    docs = stack.wait_final(ids, 180)
    _report("worker-sigkill", len(ids), docs, stack)
    assert all(d["status"] in ("extracted", "failed") for d in docs)
    assert sum(d["status"] == "extracted" for d in docs) >= len(ids) - 1
    assert stack.duplicate_completed_runs() == 0


def test_postgres_restart_loses_no_document(stack: Stack) -> None:
    stack.worker()
    ids = stack.upload(6, "pg")
    wait_for(lambda: any(d["status"] != "received" for d in stack.docs(ids)), 60, "work to start")
    stack.postgres.stop()
    down = httpx.get(f"{stack.api}/v1/documents", headers=auth(stack.token), timeout=30)
    time.sleep(2)
    stack.postgres.start()
    docs = stack.wait_final(ids, 180)
    _report("postgres-restart", len(ids), docs, stack, api_while_down=down.status_code)
    assert down.status_code in (401, 503) and down.headers["content-type"] == "application/json"
    assert all(d["status"] in ("extracted", "failed") for d in docs)
    assert stack.duplicate_completed_runs() == 0


def test_redis_restarted_with_persistence_loses_no_document(stack: Stack) -> None:
    stack.worker()
    ids = stack.upload(6, "aof")
    wait_for(lambda: any(d["status"] != "received" for d in stack.docs(ids)), 60, "work to start")
    stack.redis.stop()  # SIGTERM: the append-only file keeps the queues
    time.sleep(1)
    stack.redis.start()
    docs = stack.wait_final(ids, 180)
    _report("redis-restart-persistent", len(ids), docs, stack)
    assert all(d["status"] == "extracted" for d in docs)
    assert stack.duplicate_completed_runs() == 0


def test_a_model_hanging_past_its_timeout_loses_no_document(stack: Stack) -> None:
    httpx.post(stack.sim.base + "/control", json={"latency": 20.0})  # timeout is 3 s
    stack.worker()
    ids = stack.upload(3, "hang")
    time.sleep(10)
    timed_out = [d for d in stack.docs(ids) if d["job"] and d["job"]["error_code"]]
    httpx.post(stack.sim.base + "/control", json={"latency": 0.3})
    docs = stack.wait_final(ids, 180)
    _report("model-hangs-10s", len(ids), docs, stack, timed_out_visible=len(timed_out))
    assert all(d["status"] == "extracted" for d in docs)
    assert stack.duplicate_completed_runs() == 0
