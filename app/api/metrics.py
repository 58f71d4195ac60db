"""Prometheus metrics, read from the database and the broker at scrape time.

Workers run in other processes (and hosts), so their counters are not kept in this
process: the figures come from the tables every process writes (documents, jobs,
agent_runs) and from the queues themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from app.api.deps import ServiceState, State
from core.db import session_scope
from core.models import AgentRun, Document, Job

router = APIRouter(tags=["health"])


class ServiceCollector(Collector):
    def __init__(self, state: ServiceState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        yield from self._database()
        depth = GaugeMetricFamily(
            "shipdoc_queue_depth", "Tasks waiting in each queue", labels=["queue"]
        )
        for queue, n in self.state.dispatcher.queue_depths().items():
            depth.add_metric([queue], n)
        yield depth

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


def render(state: ServiceState) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(state))
    return generate_latest(registry)


@router.get("/metrics", response_class=Response)
async def metrics(state: State) -> Response:
    """Documents by status, errors, queue depth, run latency, tokens (Prometheus text)."""
    return Response(await run_in_threadpool(render, state), media_type=CONTENT_TYPE_LATEST)
