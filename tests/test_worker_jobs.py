"""The claim that makes redelivery harmless, on SQLite and PostgreSQL: one holder at a time,
a lost holder's lease runs out, a finished key is never run again, attempts are bounded."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

from core.db import session_scope
from core.models import Document
from tests.service_harness import wait_for
from workers import jobs
from workers.jobs import ClaimResult


def _document(url: str) -> int:
    with session_scope(url) as session:
        doc = Document(sha256=hashlib.sha256(b"x").hexdigest(), filename="x.pdf", size_bytes=1)
        session.add(doc)
        session.flush()
        return doc.id


def _claimer(
    url: str, key: str, lease_s: float, max_attempts: int = 5
) -> Callable[[str], jobs.Claim]:
    def claim(worker: str) -> jobs.Claim:
        return jobs.claim(url, key, worker=worker, lease_s=lease_s, max_attempts=max_attempts)

    return claim


def _lease_span(url: str, key: str) -> float:
    """Seconds from the attempt's start to the end of its current lease."""
    job = jobs.get_job(url, key)
    if job is None or job.lease_until is None or job.started_at is None:
        return 0.0
    return (job.lease_until - job.started_at).total_seconds()


def test_a_held_key_is_busy_and_a_finished_key_is_never_run_again(db_url: str) -> None:
    key = jobs.document_key(_document(db_url))
    jobs.ensure_job(db_url, key, "document")
    claim = _claimer(db_url, key, lease_s=60)
    assert claim("w1").result is ClaimResult.RUN
    busy = claim("w2")
    assert busy.result is ClaimResult.BUSY and 0 < busy.wait_s <= 60
    jobs.finish(db_url, key, {"parse_s": 0.1})
    for worker in ("w2", "w3"):
        assert claim(worker).result is ClaimResult.DONE
    job = jobs.get_job(db_url, key)
    assert job is not None and job.state == "done" and job.attempts == 1


def test_only_one_of_many_concurrent_deliveries_runs(db_url: str) -> None:
    key = jobs.document_key(_document(db_url))
    jobs.ensure_job(db_url, key, "document")
    claim = _claimer(db_url, key, lease_s=60)
    results: list[ClaimResult] = []
    lock = threading.Lock()

    def deliver(n: int) -> None:
        result = claim(f"w{n}").result
        with lock:
            results.append(result)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(ClaimResult.RUN) == 1
    assert results.count(ClaimResult.BUSY) == 5


def test_a_lost_workers_lease_runs_out_and_the_heartbeat_keeps_a_live_one(db_url: str) -> None:
    key = jobs.document_key(_document(db_url))
    jobs.ensure_job(db_url, key, "document")
    claim = _claimer(db_url, key, lease_s=0.6)
    assert claim("alive").result is ClaimResult.RUN
    with jobs.heartbeat(db_url, key, "alive", 0.6):
        # Renewed every 0.2 s: still held well past the first lease.
        held = wait_for(lambda: _lease_span(db_url, key) > 1.0 or None, 10, "a renewed lease")
        assert held
        assert claim("other").result is ClaimResult.BUSY
    # The holder is gone (no more renewals): its lease runs out and another worker takes over.
    taken = wait_for(lambda: claim("other").result is ClaimResult.RUN or None, 10, "takeover")
    assert taken
    job = jobs.get_job(db_url, key)
    assert job is not None and job.attempts == 2 and job.worker == "other"


def test_a_poison_key_that_keeps_losing_its_worker_ends_failed(db_url: str) -> None:
    key = jobs.document_key(_document(db_url))
    jobs.ensure_job(db_url, key, "document")
    claim = _claimer(db_url, key, lease_s=0.05, max_attempts=2)
    assert claim("w1").result is ClaimResult.RUN  # ... and w1 dies
    wait_for(lambda: claim("w2").result is ClaimResult.RUN or None, 10, "attempt 2")  # w2 dies
    final = wait_for(
        lambda: ((c := claim("w3")).result is ClaimResult.EXHAUSTED and c) or None, 10, "giving up"
    )
    assert final.attempts == 2
    assert final.last_error == "gave up after 2 attempts; last error: the worker was lost mid-task"
    job = jobs.get_job(db_url, key)
    assert job is not None and job.state == "failed" and job.error_code == "worker_lost"
    assert claim("w4").result is ClaimResult.DONE
