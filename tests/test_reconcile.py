"""Recovery (issue 10, defects 2, 6 and 7): the reconciler re-queues stuck documents,
re-upload and admin retry recover what the runbook says, jobs end only by their lease's
owner, the heartbeat survives a failed renewal, the breaker's half-open trial cannot wedge
it, one model client per process, and a model outage is retried for a bounded time."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from agent.models import shared_model
from agent.models.base import ChatRequest, Message, ModelError, ModelUnavailable
from agent.models.router import CircuitBreaker, Route, RoutedModel
from agent.models.scripted import ScriptedModel
from app.api import create_app
from core.auth import create_key
from core.db import session_scope
from core.errors import ShipdocError
from core.models import Document, Event, Job, Role, utcnow
from core.settings import ReliabilitySettings, Settings
from tests.agent_support import INVOICE_PAGE, store_document
from tests.service_harness import auth, embedded_settings, wait_for
from tests.sim_model_server import SimServer, invoice_pdf
from tools.intake import ingest
from workers import jobs
from workers.processing import RetryLater, _after_failure, process_document
from workers.reconcile import Reconciler, take_stuck


class Courier:
    def __init__(self, depth: int = 0, run_id: str = "r1") -> None:
        self.depth = depth
        self.run_id = run_id
        self.sent: list[int] = []

    def submit_document(self, document_id: int) -> None:
        self.sent.append(document_id)

    def queue_depths(self) -> dict[str, int]:
        return {"extract": self.depth}

    def broker_run_id(self) -> str | None:
        return self.run_id


def _doc(url: str, name: str) -> int:
    with session_scope(url) as session:
        doc = Document(
            sha256=hashlib.sha256(name.encode()).hexdigest(), filename=name, size_bytes=1
        )
        session.add(doc)
        session.flush()
        return doc.id


def _job(url: str, name: str, state: str, age_s: float, lease_in_s: float | None = None) -> int:
    doc_id = _doc(url, name)
    key = jobs.document_key(doc_id)
    jobs.ensure_job(url, key, "document", doc_id)
    now = utcnow()
    lease = now + timedelta(seconds=lease_in_s) if lease_in_s is not None else None
    with session_scope(url) as session:
        session.execute(
            update(Job)
            .where(Job.key == key)
            .values(state=state, updated_at=now - timedelta(seconds=age_s), lease_until=lease)
        )
    return doc_id


def _settings(url: str, tmp_path: Path, grace_s: float = 60) -> Settings:
    return Settings(
        environment="test",
        var_dir=tmp_path / "var",
        database_url=url,
        reliability=ReliabilitySettings(reconcile_grace_s=grace_s),
    )


def test_the_reconciler_takes_what_no_live_lease_holds(db_url: str, tmp_path: Path) -> None:
    lost_queued = _job(db_url, "queued-old", "queued", age_s=600)
    _job(db_url, "queued-new", "queued", age_s=1)
    lost_retry = _job(db_url, "retrying-old", "retrying", age_s=600)
    dead = _job(db_url, "running-dead", "running", age_s=600, lease_in_s=-5)
    _job(db_url, "running-alive", "running", age_s=600, lease_in_s=60)
    _job(db_url, "done", "done", age_s=600)
    _job(db_url, "failed", "failed", age_s=600)

    courier = Courier(depth=0)
    reconciler = Reconciler(_settings(db_url, tmp_path), courier)
    assert sorted(reconciler.run_once()) == sorted([lost_queued, lost_retry, dead])
    assert sorted(courier.sent) == sorted([lost_queued, lost_retry, dead])
    assert reconciler.run_once() == []  # taken: not queued twice in one grace period


def test_waiting_jobs_are_left_while_the_broker_may_hold_them(db_url: str, tmp_path: Path) -> None:
    queued = _job(db_url, "queued-old", "queued", age_s=600)
    courier = Courier(depth=5)
    reconciler = Reconciler(_settings(db_url, tmp_path), courier)
    assert reconciler.run_once() == []
    courier.run_id = "r2"  # the broker restarted: its queues are gone
    assert reconciler.run_once() == [queued]


def test_take_stuck_hands_each_job_to_one_reconciler(db_url: str) -> None:
    ids = [_job(db_url, f"q{i}", "queued", age_s=600) for i in range(5)]
    first = take_stuck(db_url, grace_s=60, include_waiting=True)
    second = take_stuck(db_url, grace_s=60, include_waiting=True)
    assert sorted(first) == sorted(ids) and second == []


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(latency=0.0) as server:
        yield server


def _lost(settings: Settings, data: bytes, name: str) -> int:
    """A stored document whose queue message was lost (queued, never delivered)."""
    result = ingest(data, name, settings=settings, parse=False)
    key = jobs.document_key(result.document_id)
    jobs.ensure_job(settings.database_url, key, "document", result.document_id)
    jobs.mark_queued(settings.database_url, key)
    return result.document_id


def test_re_upload_and_admin_retry_recover_a_stuck_document(tmp_path: Path, sim: SimServer) -> None:
    settings = embedded_settings(tmp_path / "var", sim.url)
    with TestClient(create_app(settings)) as client:
        token = create_key(settings.database_url, Role.ADMIN, "t").token
        data = invoice_pdf("INV-LOST-1")
        doc_a = _lost(settings, data, "a.pdf")
        doc_b = _lost(settings, invoice_pdf("INV-LOST-2"), "b.pdf")

        again = client.post(
            "/v1/documents",
            files=[("files", ("a.pdf", data, "application/pdf"))],
            headers=auth(token),
        )
        assert again.status_code == 200 and again.json()["documents"][0]["duplicate"] is True
        retried = client.post(f"/v1/documents/{doc_b}/retry", headers=auth(token))
        assert retried.status_code == 202, retried.text

        def final(doc_id: int) -> bool:
            doc = client.get(f"/v1/documents/{doc_id}", headers=auth(token)).json()
            return doc["status"] == "extracted" and doc["job"]["state"] == "done"

        wait_for(lambda: final(doc_a) and final(doc_b), 60, "both recovered")


def test_a_job_ends_only_by_the_worker_that_holds_it(db_url: str) -> None:
    key = jobs.document_key(_doc(db_url, "x"))
    jobs.ensure_job(db_url, key, "document")
    assert jobs.claim(db_url, key, worker="a", lease_s=0.01, max_attempts=5).result.value == "run"
    time.sleep(0.05)
    assert jobs.claim(db_url, key, worker="b", lease_s=60, max_attempts=5).result.value == "run"
    assert jobs.finish(db_url, key, {}, worker="a") is False
    assert jobs.fail(db_url, key, "x", "y", {}, worker="a") is False
    job = jobs.get_job(db_url, key)
    assert job is not None and (job.state, job.worker) == ("running", "b")
    assert jobs.finish(db_url, key, {}, worker="b") is True


def test_a_worker_that_lost_its_lease_does_not_fail_the_document(
    db_url: str, tmp_path: Path
) -> None:
    doc_id = _doc(db_url, "x")
    key = jobs.document_key(doc_id)
    jobs.ensure_job(db_url, key, "document", doc_id)
    jobs.claim(db_url, key, worker="a", lease_s=0.01, max_attempts=5)
    time.sleep(0.05)
    jobs.claim(db_url, key, worker="b", lease_s=60, max_attempts=5)
    assert jobs.finish(db_url, key, {}, worker="b") is True
    with session_scope(db_url) as session:
        session.execute(update(Document).where(Document.id == doc_id).values(status="extracted"))
    failure = ShipdocError("late")  # not transient: the path that fails the document
    _after_failure(doc_id, key, failure, 1, {}, _settings(db_url, tmp_path), "a")
    with session_scope(db_url) as session:
        assert session.get_one(Document, doc_id).status == "extracted"
        assert session.scalars(select(Event).where(Event.document_id == doc_id)).all() == []


def test_the_heartbeat_survives_a_failed_renewal_and_reports_a_lost_lease(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core import migrate

    migrate.upgrade(sqlite_url)
    key = jobs.document_key(_doc(sqlite_url, "x"))
    jobs.ensure_job(sqlite_url, key, "document")
    jobs.claim(sqlite_url, key, worker="a", lease_s=0.3, max_attempts=5)
    real = jobs.renew
    calls = {"n": 0}

    def flaky(*args: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("database restarting")
        return real(*args)

    monkeypatch.setattr(jobs, "renew", flaky)
    with jobs.heartbeat(sqlite_url, key, "a", 0.3) as lease:
        wait_for(lambda: calls["n"] >= 3, 5, "renewals after the failure")
        assert not lease.lost.is_set() and lease.renew_errors == 1
        with session_scope(sqlite_url) as session:  # another worker takes the key
            session.execute(update(Job).where(Job.key == key).values(worker="b"))
        wait_for(lease.lost.is_set, 5, "the lost lease to be noticed")


def test_a_non_transient_error_on_the_half_open_trial_does_not_wedge_the_breaker() -> None:
    now = {"t": 0.0}
    breaker = CircuitBreaker(failures=1, reset_s=10, clock=lambda: now["t"])
    model = RoutedModel(
        Route(
            ScriptedModel([ModelUnavailable("down"), ModelError("400 bad schema"), "{}"]), retries=0
        ),
        breaker=breaker,
        sleep=lambda s: None,
    )
    request = ChatRequest(messages=[Message(role="user", content="hi")])
    with pytest.raises(ModelUnavailable):
        model.chat(request)
    assert breaker.state == "open"
    now["t"] = 11.0
    with pytest.raises(ModelError):
        model.chat(request)  # the half-open trial: a 4xx is an answer, the server is up
    assert breaker.state == "closed" and breaker.allow()
    assert model.chat(request).content == "{}"


def test_one_model_client_per_process(tmp_path: Path, sim: SimServer) -> None:
    settings = embedded_settings(tmp_path / "var", sim.url)
    assert shared_model(settings) is shared_model(settings.model_copy())


def _outage_settings(db: str, tmp_path: Path, budget_s: float) -> Settings:
    return Settings(
        environment="test",
        var_dir=tmp_path / "var",
        database_url=db,
        reliability=ReliabilitySettings(model_outage_budget_s=budget_s, model_outage_retry_s=5),
    )


def test_a_model_outage_is_retried_for_its_time_budget_not_its_attempts(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core import migrate

    migrate.upgrade(sqlite_url)
    settings = _outage_settings(sqlite_url, tmp_path, budget_s=600)
    doc_id = store_document(sqlite_url, [INVOICE_PAGE])
    monkeypatch.setattr(
        "agent.pipeline.shared_model",
        lambda s: ScriptedModel([ModelUnavailable("502 restarting")] * 50),
    )
    for _ in range(settings.service.max_attempts + 3):
        with pytest.raises(RetryLater) as retry:
            process_document(doc_id, settings=settings, worker="w")
        assert retry.value.countdown_s == 5
    job = jobs.get_job(sqlite_url, jobs.document_key(doc_id))
    assert job is not None and job.state == "retrying" and job.attempts <= 1
    assert "model unavailable for" in (job.error_message or "")

    over = _outage_settings(sqlite_url, tmp_path, budget_s=0)
    result = process_document(doc_id, settings=over, worker="w")
    assert result.outcome == "failed"
    job = jobs.get_job(sqlite_url, jobs.document_key(doc_id))
    assert (
        job is not None and job.state == "failed" and "unavailable for" in (job.error_message or "")
    )


def test_an_outage_ends_with_an_ordinary_retry_and_the_next_starts_fresh(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outage budget is for one outage: once an attempt ends some other way (here an
    ordinary transient failure, retried with backoff), a later outage starts from zero
    instead of inheriting the old one's start and giving up at once."""
    from core import migrate

    migrate.upgrade(sqlite_url)
    settings = _outage_settings(sqlite_url, tmp_path, budget_s=300)
    doc_id = store_document(sqlite_url, [INVOICE_PAGE])
    key = jobs.document_key(doc_id)

    def crash(_request: ChatRequest) -> str:
        raise OperationalError("INSERT INTO records", {}, Exception("connection reset"))

    steps: list[Any] = [ModelUnavailable("502 restarting"), crash, ModelUnavailable("502 again")]
    monkeypatch.setattr("agent.pipeline.shared_model", lambda s: ScriptedModel([steps.pop(0)]))
    with pytest.raises(RetryLater):  # the first outage
        process_document(doc_id, settings=settings, worker="w")
    with session_scope(sqlite_url) as session:  # ... began 400 s ago
        job = session.scalars(select(Job).where(Job.key == key)).one()
        job.timings = {"model_outage_since": time.time() - 400}
    with pytest.raises(RetryLater) as ordinary:  # the model is back; something else failed
        process_document(doc_id, settings=settings, worker="w")
    assert "connection reset" in ordinary.value.reason
    with pytest.raises(RetryLater) as retry:  # a new outage, retried from its own start
        process_document(doc_id, settings=settings, worker="w")
    assert "model unavailable for 0 s" in retry.value.reason
    job = jobs.get_job(sqlite_url, key)
    assert job is not None and job.state == "retrying"


def test_at_start_each_unfinished_document_is_queued_once(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded queue died with the last process: at start every document no live lease
    holds is queued again at once, by one owner (the reconciler), each exactly once."""
    from collections import Counter

    from core import migrate
    from workers.dispatch import InProcessDispatcher, make_dispatcher

    migrate.upgrade(sqlite_url)
    lost = [
        _job(sqlite_url, "queued-old", "queued", age_s=600),
        _job(sqlite_url, "retrying-old", "retrying", age_s=600),
        _job(sqlite_url, "running-dead", "running", age_s=600, lease_in_s=-5),
        _job(sqlite_url, "pending-new", "pending", age_s=1),
    ]
    _job(sqlite_url, "running-alive", "running", age_s=600, lease_in_s=60)
    _job(sqlite_url, "done", "done", age_s=600)
    sent: list[int] = []
    monkeypatch.setattr(InProcessDispatcher, "submit_document", lambda _self, d: sent.append(d))
    dispatcher = make_dispatcher(_settings(sqlite_url, tmp_path))
    try:
        assert isinstance(dispatcher, InProcessDispatcher)
        wait_for(lambda: dispatcher.reconciler.requeued >= 3, 10, "the start-up round")
    finally:
        dispatcher.close()
    assert Counter(sent) == Counter(lost)
