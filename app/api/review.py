"""Review: approve a record or correct fields (who and when kept), and the review queue."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import CursorResult, exists, select, update
from sqlalchemy.orm import Session

from app.api.corrections import (
    check_corrections,
    corrections_in_force,
    current_value,
    parse_path,
)
from app.api.deps import DbId, MaxOffset, Reader, Reviewer, State
from app.api.errors import ApiError, from_shipdoc
from app.api.records import RecordList, RecordOut, record_out, summaries
from core.db import session_scope
from core.errors import InputError
from core.events import EventType, emit_event, record_payload
from core.models import Record, RecordReview, RecordStatus

router = APIRouter(tags=["review"])

_UNAPPROVABLE = {RecordStatus.FAILED, RecordStatus.SUPERSEDED}


class ReviewIn(BaseModel):
    action: Literal["approve", "correct"]
    fields: dict[str, Any] = Field(
        default_factory=dict,
        description="corrections by field path, e.g. {'shipper.name': 'ACME BV'}",
    )
    comment: str | None = Field(default=None, max_length=2000)
    version: int | None = Field(
        default=None,
        description="the record version the reviewer saw; a save over a newer one is refused "
        "with 409 (another reviewer saved first)",
    )


@router.post(
    "/v1/records/{record_id}/review", response_model=RecordOut, responses={409: {}, 422: {}}
)
def review_record(record_id: DbId, body: ReviewIn, state: State, principal: Reviewer) -> RecordOut:
    """Approve the record as extracted, or correct fields; the original stays beside them."""
    if body.action == "correct" and not body.fields:
        raise ApiError(422, "bad_correction", "a correction needs at least one field")
    if body.action == "approve" and body.fields:
        raise ApiError(422, "bad_correction", "approve takes no fields; use action=correct")
    try:
        for path in body.fields:
            parse_path(path)
    except InputError as exc:
        raise from_shipdoc(exc) from exc
    with session_scope(state.settings.database_url) as session:
        record = session.get(Record, record_id, with_for_update=True)
        if record is None:
            raise ApiError(404, "not_found", f"no record with id {record_id}")
        if body.version is not None and body.version != record.version:
            raise ApiError(409, "version_conflict", _conflict(session, record, body.version))
        # A compare-and-set, so that two saves racing past the check above still cannot
        # both land (SQLite ignores FOR UPDATE).
        bumped = session.execute(
            update(Record)
            .where(Record.id == record_id, Record.version == record.version)
            .values(version=Record.version + 1)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], bumped).rowcount != 1:
            raise ApiError(409, "version_conflict", _conflict(session, record, record.version))
        session.expire(record)
        if body.action == "approve" and record.status in _UNAPPROVABLE:
            raise ApiError(
                409, "not_approvable", f"a {record.status} record holds no data to approve"
            )
        try:
            fields = check_corrections(record.doc_type, record.data, body.fields)
        except InputError as exc:
            raise from_shipdoc(exc) from exc
        earlier = session.scalars(
            select(RecordReview)
            .where(RecordReview.record_id == record_id)
            .order_by(RecordReview.id)
        )
        previous, _stale = corrections_in_force(
            record.data, ((r.original, r.corrected) for r in earlier)
        )
        original = {
            p: previous[p] if p in previous else current_value(record.data, p) for p in fields
        }
        session.add(
            RecordReview(
                record_id=record_id,
                action=body.action,
                original=original,
                corrected=fields,
                comment=body.comment,
                reviewer=f"{principal.name} (key {principal.key_id})",
            )
        )
        session.flush()
        out = record_out(session, record_id)
        emit_event(
            session,
            EventType.RECORD_REVIEWED,
            {
                **record_payload(record),
                "action": body.action,
                "review_state": out.review_state,
                "corrected_fields": sorted(body.fields),
                "reviewer": f"{principal.name} (key {principal.key_id})",
            },
            document_id=record.document_id,
            record_id=record.id,
        )
        return out


def _conflict(session: Session, record: Record, seen: int) -> str:
    last = session.scalars(
        select(RecordReview)
        .where(RecordReview.record_id == record.id)
        .order_by(RecordReview.id.desc())
        .limit(1)
    ).first()
    who = f" by {last.reviewer} at {last.created_at:%Y-%m-%d %H:%M} UTC" if last else ""
    return (
        f"record {record.id} was saved{who} after you opened it (you had version {seen}, "
        f"it is now {record.version}); reload it to see that change, then save again"
    )


@router.get("/v1/review-queue", response_model=RecordList)
def review_queue(
    state: State,
    _principal: Reader,
    doc_type: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: MaxOffset = 0,
) -> RecordList:
    """Records that need review and have none yet, oldest first."""
    reviewed = exists().where(RecordReview.record_id == Record.id)
    stmt = select(Record).where(Record.status == RecordStatus.NEEDS_REVIEW, ~reviewed)
    if doc_type:
        stmt = stmt.where(Record.doc_type == doc_type)
    with session_scope(state.settings.database_url) as session:
        return summaries(session, stmt.order_by(Record.id), limit, offset)
