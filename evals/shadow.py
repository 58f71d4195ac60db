"""Shadow runs: a sampled share of finished documents also goes to a candidate model.

The candidate runs after the primary has finished and its job is done, in a scratch
database of its own (the document's stored pages copied in), so it can never touch the
primary's records; any failure of the candidate is caught, logged and stored as a failed
shadow run. Each run keeps the candidate's record, a field-level diff against the
primary's record with the eval scorer's rules (``evals.scoring``: exact / equivalent /
different, missing / extra), its latency and cost, beside the primary's latency.
``shadow_report`` gives the match rates per field, per type and per routing tier.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select

from agent.models.base import ChatModel
from agent.models.factory import build_ref_model
from agent.pipeline import extract_document
from core import metrics, telemetry
from core.db import session_scope
from core.migrate import ensure_current
from core.models import AgentRun, Document, Page, Record, ShadowRun, utcnow
from core.records import DocType, values_model_for, values_to_record
from core.records import Record as Envelope
from core.settings import Settings
from evals.scoring.extraction import FieldResult, compare_records

log = logging.getLogger(__name__)

_SCRATCH_LOCK = threading.Lock()
MATCH = ("exact", "equivalent")
_PAGE_COLUMNS = (
    "number",
    "method",
    "text",
    "width",
    "height",
    "rotation",
    "ocr_confidence",
    "words",
    "error_code",
    "error_message",
)


def sampled(document_id: int, share: float) -> bool:
    """The same answer for a document every time (a redelivered task is not sampled twice
    differently): a hash of its id against the share."""
    if share <= 0:
        return False
    bucket = int(hashlib.sha256(str(document_id).encode()).hexdigest()[:8], 16) % 10_000
    return bucket < share * 10_000


def _envelope(doc_type: str, data: dict[str, Any], first: int, last: int) -> Envelope:
    kind: DocType = doc_type  # type: ignore[assignment]
    values = values_model_for(kind).model_validate(data)
    return values_to_record(kind, values, pages=list(range(first, last + 1)))


def field_diff(primary: Envelope, candidate: Envelope | None) -> list[dict[str, Any]]:
    """Every field of the primary's record against the candidate's (eval scorer rules)."""
    return [_row(r) for r in compare_records(primary, candidate)]


def _row(result: FieldResult) -> dict[str, Any]:
    outcome = "different" if result.outcome == "wrong" else result.outcome
    return {"field": result.field, "key": result.key, "outcome": outcome}


def _scratch_settings(settings: Settings) -> Settings:
    folder = settings.var_dir / "shadow"
    folder.mkdir(parents=True, exist_ok=True)
    # One scratch database per process (prefork pool children shadow side by side).
    url = f"sqlite:///{(folder / f'scratch-{os.getpid()}.db').as_posix()}"
    ensure_current(url)
    return settings.model_copy(update={"database_url": url, "blob_dir": folder / "blobs"})


def _copy_document(settings: Settings, scratch: Settings, document_id: int) -> None:
    with session_scope(settings.database_url) as session:
        doc = session.get(Document, document_id)
        if doc is None:
            raise LookupError(f"no document {document_id}")
        pages = session.scalars(select(Page).where(Page.document_id == document_id)).all()
        doc_row = {c: getattr(doc, c) for c in ("sha256", "filename", "media_type", "size_bytes")}
        page_rows = [{c: getattr(p, c) for c in _PAGE_COLUMNS} for p in pages]
        page_count = doc.page_count
    with session_scope(scratch.database_url) as session:
        session.execute(delete(Document).where(Document.id == document_id))
        session.execute(delete(Document).where(Document.sha256 == doc_row["sha256"]))
        session.add(Document(id=document_id, status="parsed", page_count=page_count, **doc_row))
        session.flush()
        session.add_all(Page(document_id=document_id, **row) for row in page_rows)


def _drop_copy(scratch: Settings, document_id: int) -> None:
    with session_scope(scratch.database_url) as session:
        session.execute(delete(Document).where(Document.id == document_id))


def _primary(settings: Settings, document_id: int) -> tuple[list[Record], float, str, str | None]:
    with session_scope(settings.database_url) as session:
        records = list(
            session.scalars(select(Record).where(Record.document_id == document_id)).all()
        )
        runs = session.scalars(
            select(AgentRun).where(
                AgentRun.document_id == document_id, AgentRun.outcome != "running"
            )
        ).all()
        latency = round(sum(r.latency_s for r in runs), 3)
        model = runs[-1].model if runs else None
        tier = next((r.route_tier for r in runs if r.route_tier), None)
        for r in records:
            session.expunge(r)
    return records, latency, model or "", tier


def shadow_document(
    settings: Settings, document_id: int, candidate: ChatModel | None = None
) -> list[ShadowRun]:
    """Run the candidate on a finished document and store one shadow row per primary
    record; never raises (a failing candidate is a failed shadow run)."""
    candidate = candidate or build_ref_model(settings.ops.shadow, settings.model)
    records, primary_latency, primary_model, tier = _primary(settings, document_id)
    started = time.perf_counter()
    attributes = {"shipdoc.document_id": document_id, "gen_ai.request.model": candidate.name}
    with telemetry.span("shipdoc.shadow_run", attributes) as span, metrics.purpose("shadow"):
        try:
            with _SCRATCH_LOCK:
                scratch = _scratch_settings(settings)
                _copy_document(settings, scratch, document_id)
                try:
                    outcome = extract_document(
                        document_id, settings=scratch, model=candidate, force=True
                    )
                finally:  # the scratch copy goes (its pages, records and runs with it)
                    _drop_copy(scratch, document_id)
            error = None if outcome.status != "failed" else (outcome.reason or "failed")
        except Exception as exc:  # the candidate's failure never reaches the primary
            telemetry.fail(span, exc)
            log.warning("shadow run of document %s failed: %s", document_id, exc)
            outcome, error = None, f"{type(exc).__name__}: {exc}"[:2000]
    seconds = round(time.perf_counter() - started, 3)
    found = {r.pages[0]: r for r in outcome.records} if outcome is not None else {}
    rows = []
    for rec in records or []:
        cand = found.get(rec.page_first)
        cand_env = cand.envelope() if cand is not None else None
        usage = outcome.usage if outcome is not None else None
        rows.append(
            ShadowRun(
                document_id=document_id,
                record_id=rec.id,
                doc_type=rec.doc_type,
                route_tier=tier,
                primary_model=primary_model,
                candidate_model=candidate.name,
                status="failed" if error is not None or outcome is None else "ok",
                error=error,
                latency_s=usage.latency_s if usage is not None else seconds,
                primary_latency_s=primary_latency,
                requests=usage.requests if usage is not None else 0,
                prompt_tokens=usage.prompt_tokens if usage is not None else 0,
                completion_tokens=usage.completion_tokens if usage is not None else 0,
                cost=usage.cost if usage is not None else None,
                record=cand.record if cand is not None else None,
                fields=field_diff(
                    _envelope(rec.doc_type, rec.data, rec.page_first, rec.page_last), cand_env
                )
                if error is None
                else [],
                created_at=utcnow(),
            )
        )
    with session_scope(settings.database_url) as session:
        session.add_all(rows)
    for row in rows:
        metrics.SHADOW_RUNS.labels(candidate.name, row.status).inc()
    return rows


def after_document(settings: Settings, document_id: int) -> None:
    """The worker's hook after a document's job is done: shadow it if it is sampled."""
    ops = settings.ops
    if not ops.shadow.configured or not sampled(document_id, ops.shadow_share):
        return
    with session_scope(settings.database_url) as session:
        done = session.scalars(
            select(ShadowRun.id).where(ShadowRun.document_id == document_id)
        ).first()
        status = session.scalar(select(Document.status).where(Document.id == document_id))
    if done is not None or status not in ("extracted", "needs_review"):
        return
    try:
        shadow_document(settings, document_id)
    except Exception:  # building the candidate failed: log, never touch the primary
        log.exception("shadow run of document %s could not start", document_id)


# --- the report -----------------------------------------------------------------------------


class Rate(BaseModel):
    fields: int = 0
    exact: int = 0
    equivalent: int = 0
    different: int = 0
    missing: int = 0
    extra: int = 0
    match_rate: float = 0.0


class ShadowReport(BaseModel):
    since: datetime
    until: datetime
    candidates: list[str]
    runs: int
    failed: int
    by_type: dict[str, Rate]
    by_field: dict[str, dict[str, Rate]]
    by_tier: dict[str, Rate]
    candidate_latency_s: float
    primary_latency_s: float
    candidate_cost: float | None


def _rate(rows: list[dict[str, Any]]) -> Rate:
    rate = Rate(fields=len(rows))
    for row in rows:
        setattr(rate, row["outcome"], getattr(rate, row["outcome"]) + 1)
    matched = rate.exact + rate.equivalent
    rate.match_rate = round(matched / rate.fields, 4) if rate.fields else 0.0
    return rate


def shadow_report(
    settings: Settings, since: datetime, until: datetime | None = None, model: str | None = None
) -> ShadowReport:
    until = until or utcnow()
    with session_scope(settings.database_url) as session:
        query = select(ShadowRun).where(
            ShadowRun.created_at >= since, ShadowRun.created_at <= until
        )
        if model:
            query = query.where(ShadowRun.candidate_model == model)
        runs = list(session.scalars(query).all())
    ok = [r for r in runs if r.status == "ok"]
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_field: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    by_tier: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in ok:
        for row in run.fields:
            by_type[run.doc_type].append(row)
            by_field[run.doc_type][row["field"]].append(row)
            by_tier[run.route_tier or "unrouted"].append(row)
    costs = [r.cost for r in ok if r.cost is not None]
    return ShadowReport(
        since=since,
        until=until,
        candidates=sorted({r.candidate_model for r in runs}),
        runs=len(runs),
        failed=len(runs) - len(ok),
        by_type={k: _rate(v) for k, v in sorted(by_type.items())},
        by_field={
            t: {f: _rate(v) for f, v in sorted(fields.items())}
            for t, fields in sorted(by_field.items())
        },
        by_tier={k: _rate(v) for k, v in sorted(by_tier.items())},
        candidate_latency_s=round(sum(r.latency_s for r in ok) / len(ok), 3) if ok else 0.0,
        primary_latency_s=round(sum(r.primary_latency_s or 0 for r in ok) / len(ok), 3)
        if ok
        else 0.0,
        candidate_cost=round(sum(costs), 6) if costs else None,
    )
