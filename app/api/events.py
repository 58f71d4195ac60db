"""The change feed: every event in commit order, read with a cursor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.api.deps import Reader, State
from app.api.errors import ApiError
from core.db import session_scope
from core.events import EVENT_TYPES, EventOut, event_out, read_events

router = APIRouter(prefix="/v1/events", tags=["events"])


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str = Field(
        description="pass as `after` for the next page; equal to `after` when nothing is new"
    )
    has_more: bool = Field(description="true when the page was full: read again at once")


def _cursor(after: str) -> int:
    if after in ("", "0"):
        return 0
    if not after.isdigit() or len(after) > 19:
        raise ApiError(422, "bad_cursor", f"{after!r} is not a cursor of this feed")
    return int(after)


@router.get("", response_model=EventPage)
def list_events(
    state: State,
    _principal: Reader,
    after: Annotated[
        str,
        Query(
            max_length=20,
            description="the `next_cursor` of the previous page; empty or 0 from the start",
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    type: Annotated[
        list[str] | None,
        Query(description=f"only these types (repeatable): {', '.join(EVENT_TYPES)}"),
    ] = None,
) -> EventPage:
    """Events after the cursor, oldest first: a durable, ordered change feed.

    Every committed event appears exactly once in the sequence of pages: ids are handed
    out in commit order, so a later page never holds an event that belongs before the
    cursor. A consumer stores `next_cursor` after it has processed a page and resumes from
    it; events carry the same `id` as the webhooks, for de-duplication across both.
    """
    position = _cursor(after)
    types = list(type or [])
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise ApiError(422, "bad_event_type", f"unknown event type(s) {unknown}")
    with session_scope(state.settings.database_url) as session:
        events = read_events(session, after=position, limit=limit, types=types)
        items = [event_out(e) for e in events]
    next_cursor = items[-1].cursor if items else str(position)
    return EventPage(items=items, next_cursor=next_cursor, has_more=len(items) == limit)
