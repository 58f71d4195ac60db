"""The dashboard's figures, read from the database (no cache: a page load is a query)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from core.auth import aware
from core.db import session_scope
from core.models import AgentRun, Document, Job, Record, RecordReview, RecordStatus
from core.settings import Settings

# Median time to record over the latest finished jobs (bounded, whatever the table size).
DURATION_SAMPLE = 2000


class Counts(BaseModel):
    """Records by status and by type since a moment, and documents received."""

    records: int
    by_status: dict[str, int]
    by_type: dict[str, int]
    documents: int


class Dashboard(BaseModel):
    generated_at: datetime
    today: Counts
    week: Counts
    throughput_last_hour: int
    throughput_per_hour_24h: float
    median_time_to_record_s: float | None
    backlog: int
    backlog_oldest_age_s: float | None
    requests_per_document: float | None
    cost_per_document: float | None
    fallback_rate: float | None
    fallback_configured: bool


def _counts(session: Session, since: datetime) -> Counts:
    rows = session.execute(
        select(Record.status, Record.doc_type, func.count())
        .where(Record.created_at >= since)
        .group_by(Record.status, Record.doc_type)
    ).all()
    by_status: dict[str, int] = {}
    by_type: dict[str, int] = {}
    for status, doc_type, n in rows:
        by_status[status] = by_status.get(status, 0) + n
        by_type[doc_type] = by_type.get(doc_type, 0) + n
    documents = session.scalar(
        select(func.count()).select_from(Document).where(Document.created_at >= since)
    )
    return Counts(
        records=sum(by_status.values()),
        by_status=dict(sorted(by_status.items())),
        by_type=dict(sorted(by_type.items())),
        documents=documents or 0,
    )


def dashboard(settings: Settings, now: datetime | None = None) -> Dashboard:
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = now - timedelta(days=7)
    with session_scope(settings.database_url) as session:
        last_hour = session.scalar(
            select(func.count())
            .select_from(Record)
            .where(Record.created_at >= now - timedelta(hours=1))
        )
        day = session.scalar(
            select(func.count())
            .select_from(Record)
            .where(Record.created_at >= now - timedelta(hours=24))
        )
        reviewed = exists().where(RecordReview.record_id == Record.id)
        backlog, oldest = session.execute(
            select(func.count(), func.min(Record.created_at)).where(
                Record.status == RecordStatus.NEEDS_REVIEW, ~reviewed
            )
        ).one()
        runs = session.execute(
            select(
                func.count(func.distinct(AgentRun.document_id)),
                func.coalesce(func.sum(AgentRun.requests), 0),
                func.sum(AgentRun.cost),
                func.count(),
            ).where(AgentRun.started_at >= week)
        ).one()
        # Share of model requests that the fallback answered (agent_runs.fallback_requests).
        fallback_requests = session.scalar(
            select(func.coalesce(func.sum(AgentRun.fallback_requests), 0)).where(
                AgentRun.started_at >= week
            )
        )
        durations = _durations(session, week)
        return Dashboard(
            generated_at=now,
            today=_counts(session, midnight),
            week=_counts(session, week),
            throughput_last_hour=last_hour or 0,
            throughput_per_hour_24h=round((day or 0) / 24, 1),
            median_time_to_record_s=statistics.median(durations) if durations else None,
            backlog=backlog or 0,
            backlog_oldest_age_s=(now - aware(oldest)).total_seconds() if oldest else None,
            requests_per_document=round(runs[1] / runs[0], 2) if runs[0] else None,
            cost_per_document=round(runs[2] / runs[0], 6) if runs[0] and runs[2] else None,
            fallback_rate=round((fallback_requests or 0) / runs[1], 3) if runs[1] else None,
            fallback_configured=bool(settings.model.fallback_base_url),
        )


def _durations(session: Session, since: datetime) -> list[float]:
    """Seconds from upload (the job's creation) to its records, latest finished jobs."""
    rows: list[Any] = list(
        session.execute(
            select(Job.created_at, Job.finished_at)
            .where(Job.finished_at >= since, Job.state == "done")
            .order_by(Job.finished_at.desc())
            .limit(DURATION_SAMPLE)
        )
    )
    return [(aware(f) - aware(c)).total_seconds() for c, f in rows if c and f]
