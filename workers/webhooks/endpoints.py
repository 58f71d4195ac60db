"""Endpoint administration: register, list, enable/disable, rotate the secret, replay,
and read the delivery log. The CLI (``shipdoc webhooks``) and the API call these."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import func, insert, literal, select, true
from sqlalchemy.orm import Session

from core.db import session_scope
from core.errors import InputError, NotFound
from core.events import EVENT_TYPES
from core.models import (
    DeliveryState,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from core.settings import Settings
from workers.webhooks.signing import new_secret
from workers.webhooks.targets import check_target


class EndpointOut(BaseModel):
    id: int
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    consecutive_failures: int
    api_key_id: int | None
    secret_prefix: str
    previous_secret_until: datetime | None
    created_at: datetime


class EndpointCreated(EndpointOut):
    secret: str


class Rotated(BaseModel):
    id: int
    secret: str
    previous_secret_until: datetime


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    status_code: int | None
    latency_ms: float
    response_excerpt: str
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    replay: bool
    created_at: datetime
    finished_at: datetime | None
    attempt_log: list[AttemptOut]


def _out(row: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(
        id=row.id,
        url=row.url,
        description=row.description,
        events=list(row.event_types or []),
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        disabled_at=row.disabled_at,
        consecutive_failures=row.consecutive_failures,
        api_key_id=row.api_key_id,
        secret_prefix=row.secret[:10] + "…",
        previous_secret_until=row.previous_secret_until,
        created_at=row.created_at,
    )


def check_event_types(events: Sequence[str]) -> list[str]:
    wanted = [e.strip() for item in events for e in item.split(",") if e.strip()]
    unknown = sorted(set(wanted) - set(EVENT_TYPES))
    if unknown:
        raise InputError(
            f"unknown event type(s) {unknown}; expected some of {', '.join(EVENT_TYPES)}",
            code="bad_event_type",
        )
    return list(dict.fromkeys(wanted))


def add_endpoint(
    settings: Settings,
    url: str,
    events: Sequence[str] = (),
    *,
    description: str = "",
    api_key_id: int | None = None,
) -> EndpointCreated:
    """Register an endpoint (the URL passes the SSRF guard first); the secret is returned."""
    types = check_event_types(events)
    check_target(url, settings.webhooks)
    with session_scope(settings.database_url) as session:
        row = WebhookEndpoint(
            url=url.strip(),
            description=description[:200],
            event_types=types,
            api_key_id=api_key_id,
            secret=new_secret(),
            enabled=True,
            consecutive_failures=0,
        )
        session.add(row)
        session.flush()
        return EndpointCreated(**_out(row).model_dump(), secret=row.secret)


def list_endpoints(settings: Settings) -> list[EndpointOut]:
    with session_scope(settings.database_url) as session:
        rows = session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
        return [_out(r) for r in rows]


def _get(session: Session, endpoint_id: int) -> WebhookEndpoint:
    row = session.get(WebhookEndpoint, endpoint_id)
    if row is None:
        raise NotFound(f"no webhook endpoint with id {endpoint_id}")
    return row


def get_endpoint(settings: Settings, endpoint_id: int) -> EndpointOut:
    with session_scope(settings.database_url) as session:
        return _out(_get(session, endpoint_id))


def set_enabled(settings: Settings, endpoint_id: int, enabled: bool) -> EndpointOut:
    """Enable (resetting the failure count) or disable an endpoint by hand."""
    with session_scope(settings.database_url) as session:
        row = _get(session, endpoint_id)
        row.enabled = enabled
        if enabled:
            row.consecutive_failures = 0
            row.disabled_reason = None
            row.disabled_at = None
        else:
            row.disabled_reason = "disabled by an admin"
            row.disabled_at = utcnow()
        return _out(row)


def delete_endpoint(settings: Settings, endpoint_id: int) -> None:
    with session_scope(settings.database_url) as session:
        session.delete(_get(session, endpoint_id))


def rotate_secret(settings: Settings, endpoint_id: int, overlap_s: float | None = None) -> Rotated:
    """A new secret; the old one also signs for ``overlap_s`` so receivers can switch."""
    overlap = settings.webhooks.rotation_overlap_s if overlap_s is None else overlap_s
    with session_scope(settings.database_url) as session:
        row = _get(session, endpoint_id)
        row.previous_secret = row.secret
        row.previous_secret_until = utcnow() + timedelta(seconds=max(0.0, overlap))
        row.secret = new_secret()
        return Rotated(
            id=row.id, secret=row.secret, previous_secret_until=row.previous_secret_until
        )


def signing_secrets(row: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and the previous one while its overlap lasts."""
    out = [row.secret]
    until = row.previous_secret_until
    if row.previous_secret and until is not None and until > now:
        out.append(row.previous_secret)
    return out


def replay(
    settings: Settings,
    endpoint_id: int,
    *,
    event_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Queue the event ``event_id``, or every subscribed event in [since, until), again.

    Replays carry the original event id: a receiver that de-duplicates sees them as the
    same event. Returns how many deliveries were queued.
    """
    if event_id is None and since is None:
        raise InputError("replay needs an event id or a start time (since)", code="bad_replay")
    with session_scope(settings.database_url) as session:
        endpoint = _get(session, endpoint_id)
        now = utcnow()
        query = select(
            literal(endpoint.id),
            Event.id,
            literal(DeliveryState.PENDING.value),
            literal(0),
            literal(now),
            true(),
            literal(now),
        )
        if event_id is not None:
            query = query.where(Event.event_id == event_id)
            if session.scalar(select(func.count()).where(Event.event_id == event_id)) == 0:
                raise NotFound(f"no event with id {event_id}")
        else:
            query = query.where(Event.created_at >= since)
            if until is not None:
                query = query.where(Event.created_at < until)
            if endpoint.event_types:
                query = query.where(Event.type.in_(list(endpoint.event_types)))
        queued = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        session.execute(
            insert(WebhookDelivery).from_select(
                [
                    "endpoint_id",
                    "event_id",
                    "state",
                    "attempts",
                    "next_attempt_at",
                    "replay",
                    "created_at",
                ],
                query,
            )
        )
        return int(queued)


def deliveries(settings: Settings, endpoint_id: int, limit: int = 50) -> list[DeliveryOut]:
    """The delivery log of an endpoint, newest first, each with its attempts."""
    with session_scope(settings.database_url) as session:
        _get(session, endpoint_id)
        rows = session.execute(
            select(WebhookDelivery, Event.event_id, Event.type)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        ).all()
        ids = [d.id for d, _, _ in rows]
        attempts: dict[int, list[AttemptOut]] = {i: [] for i in ids}
        if ids:
            for a in session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id.in_(ids))
                .order_by(WebhookAttempt.id)
            ):
                attempts[a.delivery_id].append(AttemptOut.model_validate(a, from_attributes=True))
        return [
            DeliveryOut(
                id=d.id,
                event_id=event_id,
                event_type=event_type,
                state=d.state,
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at,
                last_status_code=d.last_status_code,
                last_error=d.last_error,
                replay=d.replay,
                created_at=d.created_at,
                finished_at=d.finished_at,
                attempt_log=attempts[d.id],
            )
            for d, event_id, event_type in rows
        ]
