"""Webhook endpoints (admin): register, list, enable/disable, rotate, replay, delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.api.deps import Admin, State
from core.events import EVENT_TYPES
from workers.webhooks import endpoints as hooks

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class EndpointIn(BaseModel):
    url: str = Field(max_length=2000, description="http(s) URL; private addresses are refused")
    events: list[str] = Field(
        default_factory=list,
        description=f"event types to receive (empty: all): {', '.join(EVENT_TYPES)}",
    )
    description: str = Field(default="", max_length=200)


class RotateIn(BaseModel):
    overlap_s: float | None = Field(
        default=None, ge=0, description="how long the old secret still signs (default 24 h)"
    )


class ReplayIn(BaseModel):
    event_id: str | None = Field(default=None, description="one event (evt_...)")
    since: datetime | None = Field(default=None, description="or every event from this time")
    until: datetime | None = Field(default=None, description="... up to this time (exclusive)")


class Replayed(BaseModel):
    queued: int


@router.post("", response_model=hooks.EndpointCreated, status_code=201)
async def add_endpoint(body: EndpointIn, state: State, principal: Admin) -> hooks.EndpointCreated:
    """Register an endpoint for this key; the response holds its signing secret."""
    return await run_in_threadpool(
        hooks.add_endpoint,
        state.settings,
        body.url,
        body.events,
        description=body.description,
        api_key_id=principal.key_id,
    )


@router.get("", response_model=list[hooks.EndpointOut])
def list_endpoints(state: State, _principal: Admin) -> list[hooks.EndpointOut]:
    """Every endpoint (secrets are not shown)."""
    return hooks.list_endpoints(state.settings)


@router.get("/{endpoint_id}", response_model=hooks.EndpointOut)
def get_endpoint(endpoint_id: int, state: State, _principal: Admin) -> hooks.EndpointOut:
    return hooks.get_endpoint(state.settings, endpoint_id)


@router.delete("/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: int, state: State, _principal: Admin) -> Response:
    hooks.delete_endpoint(state.settings, endpoint_id)
    return Response(status_code=204)


@router.post("/{endpoint_id}/disable", response_model=hooks.EndpointOut)
def disable(endpoint_id: int, state: State, _principal: Admin) -> hooks.EndpointOut:
    """Stop deliveries; events that arrive meanwhile are not queued for it (use replay)."""
    return hooks.set_enabled(state.settings, endpoint_id, False)


@router.post("/{endpoint_id}/enable", response_model=hooks.EndpointOut)
def enable(endpoint_id: int, state: State, _principal: Admin) -> hooks.EndpointOut:
    """Resume deliveries (also of an endpoint disabled after failures); resets the count."""
    return hooks.set_enabled(state.settings, endpoint_id, True)


@router.post("/{endpoint_id}/rotate-secret", response_model=hooks.Rotated)
def rotate_secret(
    endpoint_id: int, state: State, _principal: Admin, body: RotateIn | None = None
) -> hooks.Rotated:
    """A new secret; deliveries carry both signatures until the overlap ends."""
    overlap = body.overlap_s if body is not None else None
    return hooks.rotate_secret(state.settings, endpoint_id, overlap)


@router.post("/{endpoint_id}/replay", response_model=Replayed, status_code=202)
def replay(endpoint_id: int, body: ReplayIn, state: State, _principal: Admin) -> Replayed:
    """Deliver one event, or every subscribed event of a time range, again (same ids)."""
    queued = hooks.replay(
        state.settings, endpoint_id, event_id=body.event_id, since=body.since, until=body.until
    )
    return Replayed(queued=queued)


@router.get("/{endpoint_id}/deliveries", response_model=list[hooks.DeliveryOut])
def deliveries(
    endpoint_id: int,
    state: State,
    _principal: Admin,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[hooks.DeliveryOut]:
    """The delivery log, newest first: state, attempts with status, latency and excerpt."""
    return hooks.deliveries(state.settings, endpoint_id, limit)
