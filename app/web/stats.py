"""The dashboard's figures, read from the database (no cache: a page load is a query)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

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


def _record_counts(session: Session, week: datetime, midnight: datetime) -> tuple[Counts, Counts]:
    """Records by status and type, today and over 7 days, from one pass over the week."""
    today = Record.created_at >= midnight
    rows = session.execute(
        select(Record.status, Record.doc_type, func.count().filter(today), func.count())
        .where(Record.created_at >= week)
        .group_by(Record.status, Record.doc_type)
    ).all()
    documents = session.execute(
        select(func.count().filter(Document.created_at >= midnight), func.count()).where(
            Document.created_at >= week
        )
    ).one()
    out = []
    for column, docs in ((2, documents[0]), (3, documents[1])):
        by_status: dict[str, int] = {}
        by_type: dict[str, int] = {}
        for row in rows:
            by_status[row[0]] = by_status.get(row[0], 0) + row[column]
            by_type[row[1]] = by_type.get(row[1], 0) + row[column]
        out.append(
            Counts(
                records=sum(by_status.values()),
                by_status=dict(sorted(by_status.items())),
                by_type=dict(sorted(by_type.items())),
                documents=docs or 0,
            )
        )
    return out[0], out[1]


def dashboard(settings: Settings, now: datetime | None = None) -> Dashboard:
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = now - timedelta(days=7)
    with session_scope(settings.database_url) as session:
        today, last_week = _record_counts(session, week, midnight)
        last_hour, day = session.execute(
            select(
                func.count().filter(Record.created_at >= now - timedelta(hours=1)), func.count()
            ).where(Record.created_at >= now - timedelta(hours=24))
        ).one()
        reviewed = exists().where(RecordReview.record_id == Record.id)
        backlog, oldest = session.execute(
            select(func.count(), func.min(Record.created_at)).where(
                Record.status == RecordStatus.NEEDS_REVIEW, ~reviewed
            )
        ).one()
        documents, requests, cost, fallback_requests = session.execute(
            select(
                func.count(func.distinct(AgentRun.document_id)),
                func.coalesce(func.sum(AgentRun.requests), 0),
                func.sum(AgentRun.cost),
                # the share of model requests the fallback answered
                func.coalesce(func.sum(AgentRun.fallback_requests), 0),
            ).where(AgentRun.started_at >= week)
        ).one()
        durations = _durations(session, week)
        return Dashboard(
            generated_at=now,
            today=today,
            week=last_week,
            throughput_last_hour=last_hour or 0,
            throughput_per_hour_24h=round((day or 0) / 24, 1),
            median_time_to_record_s=statistics.median(durations) if durations else None,
            backlog=backlog or 0,
            backlog_oldest_age_s=(now - oldest).total_seconds() if oldest else None,
            requests_per_document=round(requests / documents, 2) if documents else None,
            cost_per_document=round(cost / documents, 6) if documents and cost else None,
            fallback_rate=round(fallback_requests / requests, 3) if requests else None,
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
    return [(f - c).total_seconds() for c, f in rows if c and f]
