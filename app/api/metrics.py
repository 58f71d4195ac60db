"""Prometheus metrics, read from the database and the broker at scrape time.

Workers run in other processes (and hosts), so their counters are not kept in this
process: the figures come from the tables every process writes (documents, jobs,
agent_runs) and from the queues themselves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from starlette.concurrency import run_in_threadpool

from app.api.deps import ServiceState, State
from core.db import session_scope
from core.models import AgentRun, Document, Job, utcnow
from core.settings import Settings
from evals.nightly import detect_drift, latest_batch
from kb.errors import EmbedderMismatch
from kb.guard import check_embedder
from workers.celery_app import QUEUES

router = APIRouter(tags=["health"])


class ServiceCollector(Collector):
    def __init__(self, state: ServiceState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        yield from self._database()
        yield from self._windows()
        yield from self._queues()
        yield from self._workers()
        yield from self._guard()
        yield from self._evals()

    def _evals(self) -> Iterator[Metric]:
        """The latest nightly batch (evals/nightly.py): accuracy per model and drift."""
        accuracy = GaugeMetricFamily(
            "shipdoc_eval_accuracy",
            "Field accuracy on the golden sample in the latest nightly eval",
            labels=["role", "model", "prompt_version"],
        )
        drift = GaugeMetricFamily(
            "shipdoc_eval_drift",
            "1 when the production model drifted in the latest nightly eval",
            labels=["model", "reason"],
        )
        last = GaugeMetricFamily(
            "shipdoc_eval_last_run_timestamp_seconds", "When the latest nightly eval ran"
        )
        with session_scope(self.state.settings.database_url) as session:
            batch = latest_batch(session)
            drifts = detect_drift(session, batch, self.state.settings.ops.drift_points)
        tiers = GaugeMetricFamily(
            "shipdoc_eval_tier_accuracy",
            "Mean file accuracy per routing tier in the latest nightly eval",
            labels=["role", "model", "tier"],
        )
        for row in batch:
            if row.error is None:
                accuracy.add_metric([row.role, row.model, row.prompt_version], row.accuracy)
                for tier, value in (row.by_tier or {}).items():
                    tiers.add_metric([row.role, row.model, tier], value)
        for found in drifts:
            drift.add_metric([found.model, found.reason], 1)
        if batch:
            last.add_metric([], max(r.created_at for r in batch).timestamp())
        yield accuracy
        yield tiers
        yield drift
        yield last

    def _queues(self) -> Iterator[Metric]:
        dispatcher = self.state.dispatcher
        depth = GaugeMetricFamily(
            "shipdoc_queue_depth", "Tasks waiting in each queue", labels=["queue"]
        )
        for queue, n in dispatcher.queue_depths().items():
            depth.add_metric([queue], n)
        yield depth
        age = GaugeMetricFamily(
            "shipdoc_queue_oldest_age_seconds",
            "Seconds the oldest waiting task of each queue has waited",
            labels=["queue"],
        )
        for queue, seconds in dispatcher.queue_ages().items():
            age.add_metric([queue], seconds)
        yield age

    def _workers(self) -> Iterator[Metric]:
        beats = self.state.dispatcher.heartbeats()
        age = GaugeMetricFamily(
            "shipdoc_worker_heartbeat_age_seconds",
            "Seconds since each worker's last heartbeat",
            labels=["worker", "queue"],
        )
        alive = GaugeMetricFamily(
            "shipdoc_workers", "Workers with a live heartbeat per queue", labels=["queue"]
        )
        ready = GaugeMetricFamily(
            "shipdoc_workers_ready", "Workers whose warm-up answered, per queue", labels=["queue"]
        )
        for queue in QUEUES:
            here = [b for b in beats if b.queue == queue]
            alive.add_metric([queue], len(here))
            ready.add_metric([queue], sum(b.ready for b in here))
        for b in beats:
            age.add_metric([b.worker, b.queue], round(b.age_s, 3))
        yield age
        yield alive
        yield ready

    def _guard(self) -> Iterator[Metric]:
        guard = GaugeMetricFamily(
            "shipdoc_embedding_guard",
            "Collections by embedding-guard state (ok, missing, mismatch, unreachable)",
            labels=["collection", "state"],
        )
        for collection, state in guard_states(self.state.settings).items():
            guard.add_metric([collection, state], 1)
        yield guard

    def _windows(self) -> Iterator[Metric]:
        """Shares of recently finished documents, for rate-jump alerts."""
        ratio = GaugeMetricFamily(
            "shipdoc_needs_review_ratio",
            "Share of documents finished in the window that need review",
            labels=["window"],
        )
        fallback = GaugeMetricFamily(
            "shipdoc_fallback_ratio",
            "Share of agent runs finished in the window that used the fallback model",
            labels=["window"],
        )
        now = utcnow()
        with session_scope(self.state.settings.database_url) as session:
            for window, delta in WINDOWS.items():
                since = now - delta
                counts: dict[str, int] = dict(
                    session.execute(  # type: ignore[arg-type]
                        select(Document.status, func.count())
                        .where(Document.updated_at >= since, Document.status.in_(FINISHED))
                        .group_by(Document.status)
                    ).all()
                )
                total = sum(counts.values())
                ratio.add_metric([window], counts.get("needs_review", 0) / total if total else 0)
                runs, fell_back = session.execute(
                    select(
                        func.count(),
                        func.coalesce(
                            func.sum(case((AgentRun.fallback_requests > 0, 1), else_=0)), 0
                        ),
                    ).where(AgentRun.finished_at >= since)
                ).one()
                fallback.add_metric([window], int(fell_back) / runs if runs else 0)
        yield ratio
        yield fallback

    def _database(self) -> Iterator[Metric]:
        with session_scope(self.state.settings.database_url) as session:
            by_status = session.execute(
                select(Document.status, func.count()).group_by(Document.status)
            ).all()
            errors = session.execute(
                select(Document.error_code, func.count())
                .where(Document.error_code.is_not(None))
                .group_by(Document.error_code)
            ).all()
            jobs = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
            runs = session.execute(
                select(
                    AgentRun.outcome,
                    func.count(),
                    func.coalesce(func.sum(AgentRun.latency_s), 0.0),
                    func.coalesce(func.sum(AgentRun.prompt_tokens), 0),
                    func.coalesce(func.sum(AgentRun.completion_tokens), 0),
                ).group_by(AgentRun.outcome)
            ).all()
        docs = GaugeMetricFamily("shipdoc_documents", "Documents by status", labels=["status"])
        for status, n in by_status:
            docs.add_metric([status], n)
        yield docs
        errs = CounterMetricFamily(
            "shipdoc_document_errors", "Documents that ended with an error", labels=["code"]
        )
        for code, n in errors:
            errs.add_metric([code], n)
        yield errs
        job_states = GaugeMetricFamily("shipdoc_jobs", "Processing jobs by state", labels=["state"])
        for state, n in jobs:
            job_states.add_metric([state], n)
        yield job_states
        latency = SummaryMetricFamily(
            "shipdoc_agent_run_seconds", "Agent run latency by outcome", labels=["outcome"]
        )
        tokens = CounterMetricFamily(
            "shipdoc_model_tokens", "Model tokens used by agent runs", labels=["kind"]
        )
        prompt = completion = 0
        for outcome, n, seconds, p_tokens, c_tokens in runs:
            latency.add_metric([outcome], n, float(seconds))
            prompt += int(p_tokens)
            completion += int(c_tokens)
        tokens.add_metric(["prompt"], prompt)
        tokens.add_metric(["completion"], completion)
        yield latency
        yield tokens


WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
FINISHED = ("extracted", "needs_review", "failed")
_GUARD_TTL_S = 60.0
_guard_cache: dict[str, tuple[float, dict[str, str]]] = {}
_guard_lock = threading.Lock()


def guard_states(settings: Settings) -> dict[str, str]:
    """Each collection's embedding-guard state, checked at most once a minute."""
    with _guard_lock:
        cached = _guard_cache.get(settings.database_url)
        if cached is not None and time.monotonic() - cached[0] < _GUARD_TTL_S:
            return cached[1]
    try:
        states = {s.collection: s.status for s in check_embedder(settings)}
    except EmbedderMismatch as exc:
        states = {str(getattr(exc, "collection", "kb")): "mismatch"}
    except Exception:  # Qdrant down: the state is what we saw, not an error of the scrape
        states = {"kb": "unreachable"}
    with _guard_lock:
        _guard_cache[settings.database_url] = (time.monotonic(), states)
    return states


def render(state: ServiceState) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(state))
    # The figures read at scrape time, then this process's own instruments (core/metrics).
    return generate_latest(registry) + generate_latest(REGISTRY)


@router.get("/metrics", response_class=Response)
async def metrics(state: State) -> Response:
    """Documents by status, errors, queue depth, run latency, tokens (Prometheus text)."""
    return Response(await run_in_threadpool(render, state), media_type=CONTENT_TYPE_LATEST)
