"""The review queue: oldest first, one record at a time, keyboard-first.

Saves go through the review API (``POST /v1/records/{id}/review``) with the record's
version, so the second of two reviewers on one record is refused, never overwrites.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import exists, func, select
from starlette.concurrency import run_in_threadpool

from app.api.deps import State
from app.web.auth import ReviewerUser
from app.web.records import record_view
from app.web.render import page
from core.db import session_scope
from core.models import Record, RecordReview, RecordStatus
from core.settings import Settings

router = APIRouter(include_in_schema=False)


def queue_next(settings: Settings, after: int | None) -> tuple[int | None, int]:
    """The next record waiting for review (oldest first, after ``after`` when given;
    wrapping to the oldest) and how many wait in all."""
    reviewed = exists().where(RecordReview.record_id == Record.id)
    waiting = select(Record.id).where(Record.status == RecordStatus.NEEDS_REVIEW, ~reviewed)
    with session_scope(settings.database_url) as session:
        total = session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
        found = None
        if after is not None:
            found = session.scalar(waiting.where(Record.id > after).order_by(Record.id).limit(1))
        if found is None:
            found = session.scalar(
                waiting.where(Record.id != (after or 0)).order_by(Record.id).limit(1)
            )
    return found, total


@router.get("/review", response_class=HTMLResponse)
async def review_queue(
    request: Request, state: State, identity: ReviewerUser, after: int | None = None
) -> Response:
    record_id, total = await run_in_threadpool(queue_next, state.settings, after)
    if record_id is None:
        return page(
            request,
            "review_empty.html",
            {"total": total},
            principal=identity.principal,
            csrf=identity.csrf_token,
        )
    return RedirectResponse(f"/review/{record_id}", status_code=303)


@router.get("/review/{record_id}", response_class=HTMLResponse)
async def review_record(
    request: Request, record_id: int, state: State, identity: ReviewerUser
) -> Response:
    view = await run_in_threadpool(record_view, state.settings, record_id)
    _next, total = await run_in_threadpool(queue_next, state.settings, record_id)
    return page(
        request,
        "review.html",
        {"v": view, "mode": "review", "waiting": total},
        principal=identity.principal,
        csrf=identity.csrf_token,
    )
