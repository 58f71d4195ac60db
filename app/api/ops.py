"""What production is doing: shadow-run match rates, the cost report, nightly evals."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from app.api.deps import Reader, State
from app.costs import CostReport, cost_report
from app.periods import parse_since
from core.db import session_scope
from core.models import EvalResult
from evals.nightly import Drift, detect_drift, latest_batch
from evals.shadow import ShadowReport, shadow_report

router = APIRouter(prefix="/v1", tags=["operations"])

SINCE = Query("7d", description="7d, 24h, 2w or an ISO date")
UNTIL = Query(None, description="end of the period (default: now)")


@router.get("/shadow/report", response_model=ShadowReport)
async def shadow(
    state: State,
    _principal: Reader,
    since: str = SINCE,
    until: str | None = UNTIL,
    model: str | None = Query(None, description="only this candidate model"),
) -> ShadowReport:
    """Match rates of the shadow candidate against the primary per type, tier and field."""
    start, end = parse_since(since), parse_since(until) if until else None
    return await run_in_threadpool(shadow_report, state.settings, start, end, model)


@router.get("/costs/report", response_model=CostReport)
async def costs(
    state: State, _principal: Reader, since: str = SINCE, until: str | None = UNTIL
) -> CostReport:
    """Self-hosted cost per document beside the same tokens at hosted prices; fallback,
    eval and shadow spend; the break-even volume."""
    start, end = parse_since(since), parse_since(until) if until else None
    return await run_in_threadpool(cost_report, state.settings, start, end)


class EvalRow(BaseModel):
    batch: str
    role: str
    model: str
    prompt_version: str
    documents: int
    accuracy: float
    f1: float
    by_doc_type: dict[str, float]
    by_tier: dict[str, float] | None
    cost: float | None
    error: str | None
    created_at: datetime


class NightlyOut(BaseModel):
    latest: list[EvalRow]
    drifts: list[Drift]
    history: list[EvalRow]


def _nightly(state: State, days: int) -> NightlyOut:
    settings = state.settings
    with session_scope(settings.database_url) as session:
        batch = latest_batch(session)
        drifts = detect_drift(session, batch, settings.ops.drift_points)
        history = session.scalars(
            select(EvalResult).order_by(EvalResult.created_at.desc()).limit(3 * days)
        ).all()
        return NightlyOut(
            latest=[EvalRow.model_validate(r, from_attributes=True) for r in batch],
            drifts=drifts,
            history=[EvalRow.model_validate(r, from_attributes=True) for r in history],
        )


@router.get("/evals/nightly", response_model=NightlyOut)
async def nightly(
    state: State, _principal: Reader, days: int = Query(14, ge=1, le=365)
) -> NightlyOut:
    """The latest nightly eval per model, its drift findings, and the recent history."""
    return await run_in_threadpool(_nightly, state, days)
