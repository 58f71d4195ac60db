"""``shipdoc eval nightly``: the golden sample against every configured model, and drift.

Each night the same stratified sample of the golden test split is extracted by the
production model, the fallback and the reference (``#12``'s ``evals.run`` machinery:
the product's own extraction path, scored by ``evals.scoring``), fresh each time (a model
can change behind the same name: that is what this watches). One ``eval_results`` row per
model and prompt version. Drift: the production model more than ``drift_points`` below
the reference of the same batch, or more than ``drift_points`` below its own result of a
week before; it is logged, counted in ``/metrics`` (``shipdoc_eval_drift``) and sent as an
``eval.drift`` event (webhooks) when the event table exists.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.models.base import ChatModel
from agent.prompting import prompt_version
from agent.routing import TIERS
from core.db import session_scope
from core.events import EventType, emit_event
from core.migrate import ensure_current
from core.models import AgentRun, Document, EvalResult, utcnow
from core.settings import Settings
from evals.corpus import GroundTruth
from evals.goldenset import GOLDEN_CORPUS, load_golden_truth
from evals.run import FileRun, run_files, score_run
from evals.scoring.report import FileSummary
from evals.split import load_split, stratified_sample

log = logging.getLogger(__name__)

ROLES = ("production", "fallback", "reference")
TIER_ORDER: list[str] = list(TIERS)
WEEK = timedelta(days=7)


class Drift(BaseModel):
    model: str
    reason: str  # below_reference | below_last_week
    accuracy: float
    baseline: float
    points: float


class ModelScore(BaseModel):
    role: str
    model: str
    prompt_version: str
    accuracy: float
    f1: float
    documents: int
    by_tier: dict[str, float] = {}
    cost: float | None
    seconds: float
    error: str | None


class NightlyReport(BaseModel):
    batch: str
    files: int
    results: list[ModelScore]
    drifts: list[Drift]


def golden_sample(settings: Settings, corpus: Path = GOLDEN_CORPUS) -> list[GroundTruth]:
    """The same stratified sample of the test split every night (never the dev split)."""
    test = set(load_split(corpus.parent / "split.json")["test"])
    truths = [t for t in load_golden_truth(corpus) if t.id in test]
    ops = settings.ops
    return stratified_sample(truths, ops.eval_sample, ops.eval_seed) if ops.eval_sample else truths


def _cost(runs: list[FileRun]) -> float | None:
    """What the runs cost as recorded: each tier's tokens at that tier's own price (the
    router prices every response; the cost report sums the same ``cost``)."""
    costs = [r.cost for r in runs if r.cost is not None]
    return round(sum(costs), 6) if costs else None


def evaluate(
    role: str, model: ChatModel, truths: list[GroundTruth], work: Path, settings: Settings
) -> EvalResult:
    started = time.perf_counter()
    row = EvalResult(role=role, model=model.name, prompt_version=prompt_version())
    try:
        key, done = run_files(truths, work / role, settings=settings, model=model)
        report = score_run(key, truths, done)
    except Exception as exc:  # an unreachable model is a failed eval, never a drift
        log.error("nightly eval of %s (%s) failed: %s", model.name, role, exc)
        row.error = f"{type(exc).__name__}: {exc}"[:2000]
    else:
        extraction = report.extraction
        row.files = extraction.files
        row.documents = extraction.documents
        row.accuracy = extraction.overall.micro.accuracy
        row.f1 = extraction.overall.micro.f1
        row.by_doc_type = {k: g.micro.accuracy for k, g in extraction.by_doc_type.items()}
        row.by_tier = by_tier(work / role, extraction.per_file)
        row.cost = _cost([r for _, r in done.values()])
        if report.errors:
            row.error = f"{len(report.errors)} files failed: " + "; ".join(
                f"{k}: {v}" for k, v in list(report.errors.items())[:3]
            )
    row.seconds = round(time.perf_counter() - started, 3)
    return row


def by_tier(role_work: Path, files: list[FileSummary]) -> dict[str, float]:
    """Mean file accuracy per routing tier, the tiers read from the eval database's runs."""
    tiers: dict[str, str] = {}
    for db in sorted(role_work.glob("eval-*.db")):
        with session_scope(f"sqlite:///{db.as_posix()}") as session:
            rows = session.execute(
                select(Document.filename, AgentRun.route_tier)
                .join(AgentRun, AgentRun.document_id == Document.id)
                .where(AgentRun.route_tier.is_not(None))
                .order_by(AgentRun.id)
            ).all()
        for filename, tier in rows:
            # a file's hardest group decides: hosted > local_large > local_small
            if TIER_ORDER.index(tier) >= TIER_ORDER.index(tiers.get(filename, TIER_ORDER[0])):
                tiers[filename] = tier
    grouped: dict[str, list[float]] = {}
    for summary in files:
        tier = tiers.get(Path(summary.file).name)
        if tier is not None:
            grouped.setdefault(tier, []).append(summary.accuracy)
    return {t: round(sum(v) / len(v), 4) for t, v in sorted(grouped.items())}


def last_week(session: Session, model: str, before: datetime) -> EvalResult | None:
    """The model's production result nearest to a week before ``before`` (6 to 14 days)."""
    found = session.scalars(
        select(EvalResult)
        .where(
            EvalResult.role == "production",
            EvalResult.model == model,
            EvalResult.error.is_(None),
            EvalResult.created_at <= before - timedelta(days=6),
            EvalResult.created_at >= before - timedelta(days=14),
        )
        .order_by(EvalResult.created_at.desc())
    ).first()
    return found


def detect_drift(session: Session, batch: list[EvalResult], points: float) -> list[Drift]:
    by_role = {r.role: r for r in batch if r.error is None}
    prod = by_role.get("production")
    if prod is None:
        return []
    drifts = []
    threshold = points / 100
    ref = by_role.get("reference")
    if ref is not None and prod.accuracy < ref.accuracy - threshold:
        drifts.append(_drift(prod, "below_reference", ref.accuracy))
    week = last_week(session, prod.model, prod.created_at)
    if week is not None and prod.accuracy < week.accuracy - threshold:
        drifts.append(_drift(prod, "below_last_week", week.accuracy))
    return drifts


def _drift(prod: EvalResult, reason: str, baseline: float) -> Drift:
    return Drift(
        model=prod.model,
        reason=reason,
        accuracy=prod.accuracy,
        baseline=baseline,
        points=round(100 * (baseline - prod.accuracy), 2),
    )


def latest_batch(session: Session) -> list[EvalResult]:
    newest = session.scalars(select(EvalResult).order_by(EvalResult.id.desc())).first()
    if newest is None:
        return []
    return list(session.scalars(select(EvalResult).where(EvalResult.batch == newest.batch)))


def run_nightly(
    settings: Settings,
    models: dict[str, ChatModel],
    work: Path,
    *,
    truths: list[GroundTruth] | None = None,
    now: datetime | None = None,
) -> NightlyReport:
    """Evaluate every model, store the results, and report (and announce) any drift."""
    ensure_current(settings.database_url)
    truths = truths if truths is not None else golden_sample(settings)
    now = now or utcnow()
    batch = now.strftime("%Y%m%dT%H%M%S")
    rows = []
    for role in ROLES:
        if role in models:
            row = evaluate(role, models[role], truths, work / batch, settings)
            row.batch, row.created_at = batch, now
            rows.append(row)
    with session_scope(settings.database_url) as session:
        session.add_all(rows)
        session.flush()
        drifts = detect_drift(session, rows, settings.ops.drift_points)
        for drift in drifts:
            log.warning(
                "model drift: %s at %.1f%% is %.1f points %s (%.1f%%)",
                drift.model,
                100 * drift.accuracy,
                drift.points,
                drift.reason.replace("_", " "),
                100 * drift.baseline,
            )
            emit_event(session, EventType.EVAL_DRIFT, drift.model_dump() | {"batch": batch})
        results = [
            ModelScore(
                role=r.role,
                model=r.model,
                prompt_version=r.prompt_version,
                accuracy=r.accuracy,
                f1=r.f1,
                documents=r.documents,
                by_tier=r.by_tier or {},
                cost=r.cost,
                seconds=r.seconds,
                error=r.error,
            )
            for r in rows
        ]
    return NightlyReport(batch=batch, files=len(truths), results=results, drifts=drifts)
