"""Records: filtered, paginated listing and one record with provenance and reviews."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.api.corrections import apply_corrections, corrections_in_force
from app.api.deps import DbId, DbIdQuery, MaxOffset, Reader, State
from app.api.errors import ApiError
from app.export.rows import contains_text
from core.db import session_scope
from core.models import AgentRun, Record, RecordReview

router = APIRouter(prefix="/v1/records", tags=["records"])


class ReviewOut(BaseModel):
    id: int
    action: str
    original: dict[str, Any]
    corrected: dict[str, Any]
    comment: str | None
    reviewer: str
    created_at: datetime


class RunOut(BaseModel):
    id: int
    model: str
    outcome: str
    reason: str | None
    requests: int
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


class RecordSummary(BaseModel):
    id: int
    document_id: int
    doc_type: str
    status: str
    review_state: str  # unreviewed | approved | corrected
    page_first: int
    page_last: int
    version: int
    created_at: datetime
    updated_at: datetime


class RecordOut(RecordSummary):
    schema_version: str
    data: dict[str, Any]
    corrected_data: dict[str, Any]
    # Paths whose correction was made against data that a re-extraction has since changed:
    # kept in ``reviews``, not applied to ``corrected_data``.
    stale_corrections: list[str] = []
    issues: list[Any]
    provenance: dict[str, Any]
    confidence: dict[str, Any]
    # Proposed, not printed (tariff codes by field path, with score and source).
    suggestions: dict[str, Any] = {}
    reviews: list[ReviewOut]
    run: RunOut | None


class RecordList(BaseModel):
    items: list[RecordSummary]
    total: int
    limit: int
    offset: int


def review_state(reviews: list[RecordReview]) -> str:
    if not reviews:
        return "unreviewed"
    return "corrected" if any(r.action == "correct" for r in reviews) else "approved"


def reviews_of(session: Session, record_ids: list[int]) -> dict[int, list[RecordReview]]:
    out: dict[int, list[RecordReview]] = {i: [] for i in record_ids}
    if record_ids:
        stmt = (
            select(RecordReview)
            .where(RecordReview.record_id.in_(record_ids))
            .order_by(RecordReview.id)
        )
        for review in session.scalars(stmt):
            out[review.record_id].append(review)
    return out


def summaries(session: Session, stmt: Select[tuple[Record]], limit: int, offset: int) -> RecordList:
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.limit(limit).offset(offset)))
    reviews = reviews_of(session, [r.id for r in rows])
    items = [
        RecordSummary(
            id=r.id,
            document_id=r.document_id,
            doc_type=r.doc_type,
            status=r.status,
            review_state=review_state(reviews[r.id]),
            page_first=r.page_first,
            page_last=r.page_last,
            version=r.version,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]
    return RecordList(items=items, total=total, limit=limit, offset=offset)


@router.get("", response_model=RecordList)
def list_records(
    state: State,
    _principal: Reader,
    doc_type: str | None = None,
    status: str | None = None,
    document_id: DbIdQuery = None,
    created_from: Annotated[datetime | None, Query(description="ISO datetime, inclusive")] = None,
    created_to: Annotated[datetime | None, Query(description="ISO datetime, exclusive")] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="text in the record's fields (numbers, parties, ...)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: MaxOffset = 0,
) -> RecordList:
    """Records, newest first, filtered by type, status, document, date range and text."""
    stmt = select(Record)
    if doc_type:
        stmt = stmt.where(Record.doc_type == doc_type)
    if status:
        stmt = stmt.where(Record.status == status)
    if document_id is not None:
        stmt = stmt.where(Record.document_id == document_id)
    if created_from is not None:
        stmt = stmt.where(Record.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(Record.created_at < created_to)
    if q:
        stmt = stmt.where(contains_text(q))
    with session_scope(state.settings.database_url) as session:
        return summaries(session, stmt.order_by(Record.id.desc()), limit, offset)


@router.get("/{record_id}", response_model=RecordOut)
def get_record(record_id: DbId, state: State, _principal: Reader) -> RecordOut:
    """One record: data as extracted, data with corrections applied, provenance, reviews."""
    with session_scope(state.settings.database_url) as session:
        return record_out(session, record_id)


def record_out(session: Session, record_id: int) -> RecordOut:
    record = session.get(Record, record_id)
    if record is None:
        raise ApiError(404, "not_found", f"no record with id {record_id}")
    reviews = reviews_of(session, [record.id])[record.id]
    run = session.get(AgentRun, record.run_id) if record.run_id is not None else None
    corrected, stale = corrections_in_force(
        record.data, ((r.original, r.corrected) for r in reviews)
    )
    return RecordOut(
        id=record.id,
        document_id=record.document_id,
        doc_type=record.doc_type,
        status=record.status,
        review_state=review_state(reviews),
        page_first=record.page_first,
        page_last=record.page_last,
        version=record.version,
        created_at=record.created_at,
        updated_at=record.updated_at,
        schema_version=record.schema_version,
        data=record.data,
        corrected_data=apply_corrections(record.data, corrected),
        stale_corrections=stale,
        issues=list(record.issues or []),
        provenance=dict(record.provenance or {}),
        confidence=dict(record.confidence or {}),
        suggestions=dict(record.suggestions or {}),
        reviews=[ReviewOut.model_validate(r, from_attributes=True) for r in reviews],
        run=RunOut.model_validate(run, from_attributes=True) if run else None,
    )
