"""Service benchmark: `shipdoc serve` + `shipdoc worker` on PostgreSQL and Redis, fed at a
fixed rate, against a simulated OpenAI-compatible model of known latency.

For each rate (1,800 documents an hour, then 5x) it uploads for a bounded time, waits for
every document to end, and prints: documents lost (uploaded but without an outcome: must
be 0), queue wait, model and parse time, orchestration overhead per document (end to end
minus model and parse time) as a share of model time (target < 5%), and p50/p99 end to end.
The reference each figure is compared with is the model time measured in the same run.

    .venv/bin/python bench/service.py                      # 60 s at each rate, 2 s model
    .venv/bin/python bench/service.py --seconds 30 --latency 1.0 --concurrency 8

Needs the local PostgreSQL (SHIPDOC_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test; a scratch database is created and dropped) and
Redis (SHIPDOC_TEST_REDIS_URL, default redis://127.0.0.1:6379/15).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import migrate  # noqa: E402
from core.auth import create_key  # noqa: E402
from core.models import Role  # noqa: E402
from core.stats import percentile  # noqa: E402
from tests.sim_model_server import SimServer, invoice_pdf  # noqa: E402

POSTGRES = os.environ.get("SHIPDOC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("SHIPDOC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BASE_RATE_PER_H = 1800.0


@dataclass
class Row:
    doc_id: int
    sent: float
    upload_s: float = 0.0
    resent: int = 0
    status: str = ""
    finished: float | None = None
    queued: float | None = None
    started: float | None = None
    parse_s: float = 0.0
    model_s: float = 0.0
    requests: int = 0


def _pg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


class Stack:
    """A scratch database, `shipdoc serve` and `shipdoc worker --queues extract`."""

    def __init__(
        self,
        model_url: str,
        concurrency: int,
        pool: str,
        workdir: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.db = f"shipdoc_bench_{uuid.uuid4().hex[:8]}"
        self.admin = sa.create_engine(_pg(POSTGRES), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.db}"'))
        self.url = POSTGRES.rsplit("/", 1)[0] + f"/{self.db}"
        migrate.upgrade(self.url)
        self.port = 18000 + os.getpid() % 1000
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPDOC_")}
        env.update(
            {
                "SHIPDOC_ENVIRONMENT": "test",
                "SHIPDOC_VAR_DIR": str(workdir / "var"),
                "SHIPDOC_DATABASE_URL": self.url,
                "SHIPDOC_SERVICE__BROKER_URL": REDIS,
                "SHIPDOC_SERVICE__KEY_PREFIX": f"shipdoc-bench-{uuid.uuid4().hex[:8]}:",
                "SHIPDOC_SERVICE__EXTRACT_CONCURRENCY": str(concurrency),
                "SHIPDOC_SERVICE__UPLOAD_RATE_PER_MINUTE": "100000",
                "SHIPDOC_MODEL__BACKEND": "openai",
                "SHIPDOC_MODEL__BASE_URL": model_url,
                "SHIPDOC_MODEL__NAME": "sim",
                "SHIPDOC_KB__QDRANT_PATH": str(workdir / "qdrant"),
                **(extra_env or {}),
            }
        )
        self.log = (workdir / "stack.log").open("ab")
        shipdoc = [sys.executable, "-m", "app.cli"]
        self.procs = [
            subprocess.Popen(
                [*shipdoc, "serve", "--port", str(self.port), "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            ),
            subprocess.Popen(
                [*shipdoc, "worker", "-Q", "extract", "--pool", pool, "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            ),
        ]  # fmt: skip
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = create_key(self.url, Role.ADMIN, "bench").token
        self.engine = sa.create_engine(_pg(self.url))

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if any(p.poll() is not None for p in self.procs):
                break
            time.sleep(0.2)
        raise SystemExit(f"the API did not start; see {self.log.name}")

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)'))
        self.admin.dispose()


def feed(stack: Stack, rate_per_h: float, seconds: float, tag: str) -> list[Row]:
    """Upload one new document every 3600/rate seconds for ``seconds`` (open loop: uploads
    run on a small thread pool, so a slow response does not lower the offered rate)."""
    interval = 3600.0 / rate_per_h
    headers = {"Authorization": f"Bearer {stack.token}"}
    with (
        httpx.Client(base_url=stack.base, headers=headers, timeout=60) as client,
        ThreadPoolExecutor(8) as pool,
    ):

        def upload(n: int) -> Row:
            data = invoice_pdf(f"INV-{tag}-{n}")
            files = [("files", (f"{tag}-{n}.pdf", data, "application/pdf"))]
            sent = time.time()
            for attempt in range(3):
                # A keep-alive connection the server closed at the same moment resets; an
                # upload is idempotent (same bytes, same document), so send it again.
                try:
                    response = client.post("/v1/documents", files=files)
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        raise
            response.raise_for_status()
            doc_id = response.json()["documents"][0]["document_id"]
            return Row(doc_id=doc_id, sent=sent, upload_s=time.time() - sent, resent=attempt)

        futures = []
        start = time.monotonic()
        n = 0
        while (due := start + n * interval) < start + seconds:
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(upload, n))
            n += 1
        return [f.result() for f in futures]


def collect(stack: Stack, rows: list[Row], drain_s: float) -> None:
    """Wait until every document has an outcome (or ``drain_s`` runs out), then read timings."""
    ids = [r.doc_id for r in rows]
    deadline = time.monotonic() + drain_s
    query = sa.text(
        "SELECT count(*) FROM jobs WHERE document_id = ANY(:ids) AND state IN ('done','failed')"
    )
    while time.monotonic() < deadline:
        with stack.engine.connect() as conn:
            if conn.execute(query, {"ids": ids}).scalar_one() == len(ids):
                break
        time.sleep(0.5)
    by_id = {r.doc_id: r for r in rows}
    with stack.engine.connect() as conn:
        jobs = conn.execute(
            sa.text(
                "SELECT j.document_id, j.state, j.queued_at, j.started_at, j.finished_at, "
                "j.timings, d.status FROM jobs j JOIN documents d ON d.id = j.document_id "
                "WHERE j.document_id = ANY(:ids)"
            ),
            {"ids": ids},
        ).all()
        runs = conn.execute(
            sa.text(
                "SELECT document_id, sum(latency_s), sum(requests) FROM agent_runs "
                "WHERE document_id = ANY(:ids) AND outcome <> 'running' GROUP BY document_id"
            ),
            {"ids": ids},
        ).all()
    for doc_id, state, queued, started, finished, timings, status in jobs:
        row = by_id[doc_id]
        if state in ("done", "failed"):
            row.status = status
            row.finished = _ts(finished)
        row.queued, row.started = _ts(queued), _ts(started)
        row.parse_s = float((timings or {}).get("parse_s", 0.0))
    for doc_id, latency, requests in runs:
        by_id[doc_id].model_s = float(latency or 0.0)
        by_id[doc_id].requests = int(requests or 0)


def report(label: str, rate: float, rows: list[Row], sim_latency: float) -> dict[str, Any]:
    done = [r for r in rows if r.finished is not None]
    lost = len(rows) - len(done)
    e2e = [r.finished - r.sent for r in done if r.finished is not None]
    waits = [r.started - r.queued for r in done if r.started and r.queued]
    model = [r.model_s for r in done]
    parse = [r.parse_s for r in done]
    overhead = [e - m - p for e, m, p in zip(e2e, model, parse, strict=True)]
    share = (
        statistics.mean(overhead) / statistics.mean(model)
        if model and statistics.mean(model)
        else float("nan")
    )
    outcomes: dict[str, int] = {}
    for r in done:
        outcomes[r.status] = outcomes.get(r.status, 0) + 1
    print(f"\n== {label}: {rate:,.0f} documents/hour, {len(rows)} uploaded ==")
    print(f"documents lost (no outcome)     {lost}")
    print(f"uploads sent again (conn reset) {sum(r.resent for r in rows)}")
    print(f"outcomes                        {outcomes}")
    if not done:
        return {"lost": lost}
    p50, p99 = percentile(waits, 0.5), percentile(waits, 0.99)
    print(f"queue wait      p50 {p50:7.3f} s   p99 {p99:7.3f} s")
    print(
        f"model time      mean {statistics.mean(model):6.3f} s  (simulated {sim_latency:.3f} s x "
        f"{statistics.mean(r.requests for r in done):.1f} requests)"
    )
    print(f"parse time      mean {statistics.mean(parse):6.3f} s")
    mean_over = statistics.mean(overhead)
    print(
        f"overhead/doc    mean {mean_over:6.3f} s   p50 {percentile(overhead, 0.5):6.3f} s"
        f"   = {share * 100:5.1f}% of model time (target < 5%)"
    )
    uploads = [r.upload_s for r in done]
    worker = [
        r.finished - r.started - r.model_s - r.parse_s for r in done if r.finished and r.started
    ]
    print(
        f"  of which      upload request {statistics.mean(uploads):.3f} s, queue wait "
        f"{statistics.mean(waits):.3f} s, in the worker {statistics.mean(worker):.3f} s"
    )
    print(f"end to end      p50 {percentile(e2e, 0.5):7.3f} s   p99 {percentile(e2e, 0.99):7.3f} s")
    return {"lost": lost, "share": share, "p50": percentile(e2e, 0.5), "p99": percentile(e2e, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description="shipdoc service benchmark")
    parser.add_argument("--seconds", type=float, default=60.0, help="upload time per rate")
    parser.add_argument(
        "--latency", type=float, default=2.0, help="simulated model seconds/request"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="extract worker processes")
    parser.add_argument("--pool", default="prefork", help="Celery pool: prefork or threads")
    parser.add_argument("--drain", type=float, default=300.0, help="max wait for outcomes")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp, SimServer(latency=args.latency) as sim:
        stack = Stack(sim.url, args.concurrency, args.pool, Path(tmp))
        try:
            stack.wait_ready()
            warm = feed(stack, 3600.0, 1.0, "warm")  # one document: imports, connections
            collect(stack, warm, args.drain)
            for label, factor in (("1x", 1.0), ("5x", 5.0)):
                rate = BASE_RATE_PER_H * factor
                rows = feed(stack, rate, args.seconds, label)
                collect(stack, rows, args.drain)
                results[label] = report(label, rate, rows, args.latency)
        finally:
            stack.close()
    one, five = results.get("1x", {}), results.get("5x", {})
    if "p50" in one and "p50" in five:
        p50, p99 = five["p50"] / one["p50"], five["p99"] / one["p99"]
        print(f"\n5x / 1x end to end: p50 {p50:.2f}x, p99 {p99:.2f}x")
    lost = sum(r.get("lost", 0) for r in results.values())
    print(f"documents lost in total: {lost}")
    raise SystemExit(1 if lost else 0)


if __name__ == "__main__":
    main()
