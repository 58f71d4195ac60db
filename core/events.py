"""Events: the durable change feed (``GET /v1/events``) and the source of webhooks.

``emit_event(session, type, payload)`` is called in the same transaction as the state
change it reports, so an event exists if and only if its change was committed.

Ordering. The feed's cursor is the event's ``id``. A plain sequence is not enough on
PostgreSQL: transaction A can take id 10, transaction B id 11, B commits first, a reader
pages past 11, then A commits 10 and the reader never sees it. So on PostgreSQL
``emit_event`` first takes a transaction-scoped advisory lock (``pg_advisory_xact_lock``),
held until commit or rollback: ids are handed out one transaction at a time, in commit
order, and once a reader sees id N every id below N is either committed or never will be.
The cost is that transactions that emit events serialise from the moment they emit until
they commit, so callers emit as the last write of a short transaction. SQLite has one
writer at a time anyway, which gives the same order. Rolled-back transactions leave gaps
in the ids; the cursor does not care.

Fan-out. The same transaction queues one webhook delivery per enabled endpoint that
subscribes to the type (a transactional outbox): delivery happens later, elsewhere, and
never blocks or fails the change itself.
"""

from __future__ import annotations

import enum
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.models import DeliveryState, Event, WebhookDelivery, WebhookEndpoint, utcnow

log = logging.getLogger(__name__)

# disabled_reason of an endpoint that the delivery loop disabled (not an admin).
AUTO_DISABLED = "auto:"
# Any 64-bit constant naming "the events sequence" among advisory locks.
EVENTS_LOCK_KEY = 0x5D0C_E7E5


class EventType(enum.StrEnum):
    RECORD_EXTRACTED = "record.extracted"
    RECORD_NEEDS_REVIEW = "record.needs_review"
    RECORD_REVIEWED = "record.reviewed"
    DOCUMENT_REJECTED = "document.rejected"
    DOCUMENT_FAILED = "document.failed"
    EVAL_DRIFT = "eval.drift"


EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)


class EventOut(BaseModel):
    """An event as the feed and webhooks show it (the Standard Webhooks payload shape)."""

    id: str  # the event id (webhook-id): stable across retries and replays
    cursor: str  # the feed position; pass it as ``after`` to read what follows
    type: str
    timestamp: str  # ISO 8601, UTC
    data: dict[str, Any]


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


def emit_event(
    session: Session,
    type: EventType | str,
    payload: dict[str, Any],
    *,
    document_id: int | None = None,
    record_id: int | None = None,
) -> Event:
    """Add an event (and its webhook deliveries) to ``session``'s transaction.

    Call it last in a short transaction: on PostgreSQL it holds the events lock until the
    transaction ends (see the module docstring).
    """
    kind = EventType(type)
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK_KEY})
    event = Event(
        event_id=new_event_id(),
        type=kind.value,
        document_id=document_id,
        record_id=record_id,
        payload=payload,
        created_at=utcnow(),
    )
    session.add(event)
    session.flush()
    _fan_out(session, event)
    _notify_after_commit(session)
    return event


# --- in-process wake-up: a delivery loop in this process sends at once, not at its next poll

_listeners: list[Callable[[], None]] = []
_listeners_lock = threading.Lock()
_PENDING = "shipdoc_events_pending"
_HOOKED = "shipdoc_events_hooked"


def on_events_committed(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` after each commit that added events in this process; returns the
    function that unsubscribes. Callbacks must be quick and must not touch the database."""
    with _listeners_lock:
        _listeners.append(callback)

    def unsubscribe() -> None:
        with _listeners_lock:
            if callback in _listeners:
                _listeners.remove(callback)

    return unsubscribe


def _notify_after_commit(session: Session) -> None:
    session.info[_PENDING] = True
    if not session.info.get(_HOOKED):
        session.info[_HOOKED] = True
        sa_event.listen(session, "after_commit", _after_commit)
        sa_event.listen(session, "after_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    if not session.info.pop(_PENDING, False):
        return
    with _listeners_lock:
        callbacks = list(_listeners)
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("an events-committed callback failed")


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def subscribes(event_types: Sequence[Any], type: str) -> bool:
    return not event_types or type in event_types


def receives(endpoint: WebhookEndpoint) -> bool:
    """Enabled endpoints receive events; so do endpoints disabled for failing (their events
    wait until an admin enables them again), but not those an admin disabled."""
    return endpoint.enabled or (endpoint.disabled_reason or "").startswith(AUTO_DISABLED)


def _fan_out(session: Session, event: Event) -> None:
    for endpoint in session.scalars(select(WebhookEndpoint)):
        if receives(endpoint) and subscribes(endpoint.event_types or [], event.type):
            session.add(
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    state=DeliveryState.PENDING,
                    next_attempt_at=event.created_at,
                )
            )
    session.flush()


def event_out(event: Event) -> EventOut:
    return EventOut(
        id=event.event_id,
        cursor=str(event.id),
        type=event.type,
        timestamp=event.created_at.isoformat().replace("+00:00", "Z"),
        data=dict(event.payload or {}),
    )


def read_events(
    session: Session, *, after: int = 0, limit: int = 100, types: Sequence[str] = ()
) -> list[Event]:
    """Committed events with ``id > after``, oldest first (the feed's page)."""
    stmt = select(Event).where(Event.id > after)
    if types:
        stmt = stmt.where(Event.type.in_(list(types)))
    return list(session.scalars(stmt.order_by(Event.id).limit(limit)))


# --- payloads: what a consumer needs to act, without a second call for the common case ---


def record_payload(record: Any) -> dict[str, Any]:
    """The data of a record event (``record`` is a core.models.Record)."""
    return {
        "record_id": record.id,
        "document_id": record.document_id,
        "doc_type": record.doc_type,
        "status": record.status,
        "pages": [record.page_first, record.page_last],
        "issues": len(record.issues or []),
        "schema_version": record.schema_version,
    }


def document_payload(document: Any) -> dict[str, Any]:
    """The data of a document event (``document`` is a core.models.Document)."""
    return {
        "document_id": document.id,
        "filename": document.filename,
        "sha256": document.sha256,
        "status": document.status,
        "error_code": document.error_code,
        "error_message": document.error_message,
    }
