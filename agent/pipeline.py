"""Extraction of one stored document: classify, run the agent per page group, write back.

``extract_document`` is what the CLI, the demo and the queue's worker call. It is
idempotent: a document that already has its records is not run again unless
``force=True``. Transient failures (``ModelUnavailable``, ``ModelTimeout`` after the
router's retries, a lost database connection) propagate so that the worker can retry;
every other ending is stored as an outcome on the document, its records and its runs: a
defect of ours ends the document ``failed`` with the code ``internal_error`` and a message,
and never leaves a run ``running``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import OperationalError

from agent.candidates import tariff_candidates
from agent.classify import PageGroup, classify
from agent.crosscheck import render_hints
from agent.loop import INTERNAL_ERROR, RunResult, run_extraction
from agent.models import shared_model
from agent.models.base import ChatModel, ModelError, ModelOutputInvalid, Usage
from agent.models.tracing import traced
from agent.prompting import prompt_version, render_candidates
from agent.routing import route_group, tier_model
from agent.tools import TariffOption, TariffSource, ToolContext
from core import metrics, progress, telemetry
from core.db import session_scope
from core.errors import InputError, NotFound, ShipdocError
from core.events import EventType, document_payload, emit_event
from core.migrate import ensure_current
from core.models import (
    AgentRun,
    Document,
    DocumentStatus,
    Page,
    Record,
    RecordReview,
    RecordStatus,
    utcnow,
)
from core.records import DocType, Provenance, values_model_for, values_to_record
from core.records import Record as EnvelopeRecord
from core.settings import AgentSettings, Settings, get_settings
from core.values import decimal_of
from tools.candidates import find_candidates
from tools.intake import IngestResult, ingest_path, parse_document
from tools.provenance import PageText
from tools.tariff import hs_code_exists, tariff_lookup
from tools.validate import Issue
from tools.writeback import (
    RunTotals,
    ToolCallLog,
    WriteBackArgs,
    WriteTarget,
    finish_run,
    record_tool_calls,
    start_run,
    write_back,
)
from tools.writeback import write_failed as store_failed

log = logging.getLogger(__name__)

FINAL = {DocumentStatus.EXTRACTED, DocumentStatus.NEEDS_REVIEW, DocumentStatus.FAILED}


class KbTariff:
    """The knowledge base's tariff (tools/tariff) as the agent's ``TariffSource``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def exists(self, code: str) -> bool:
        # TARIC 10-digit codes extend the 8-digit EU CN code the knowledge base holds.
        digits = code[:8] if len(code) == 10 else code
        return hs_code_exists(digits, settings=self.settings)

    def lookup(self, description: str, origin: str | None, top_k: int) -> list[TariffOption]:
        found = tariff_lookup(description[:200], None, top_k, settings=self.settings)
        sure = found.verdict == "confident"
        return [
            TariffOption(code=c.code, title=c.title, score=c.score, confident=sure)
            for c in found.candidates
        ]


class RecordOut(BaseModel):
    record_id: int
    doc_type: DocType
    pages: list[int]
    status: str
    record: dict[str, Any]
    issues: list[dict[str, Any]] = Field(default_factory=list)
    provenance: dict[str, Any] = Field(default_factory=dict)
    confidence: dict[str, float] = Field(default_factory=dict)
    # Proposed, not printed (tariff codes): by field path, shown to the reviewer.
    suggestions: dict[str, Any] = Field(default_factory=dict)

    def envelope(self) -> EnvelopeRecord:
        """The record in the common envelope: every value with its provenance and confidence."""
        values = values_model_for(self.doc_type).model_validate(self.record)
        provenance = {k: Provenance.model_validate(v) for k, v in self.provenance.items()}
        return values_to_record(
            self.doc_type,
            values,
            pages=self.pages,
            provenance=provenance,
            confidence=self.confidence,
        )


class RunUsage(BaseModel):
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost: float | None = None


class ExtractionOutcome(BaseModel):
    document_id: int
    filename: str
    status: str
    records: list[RecordOut] = Field(default_factory=list)
    usage: RunUsage = Field(default_factory=RunUsage)
    # True when the document already had its records and nothing was run.
    skipped: bool = False
    reason: str | None = None


def _load(settings: Settings, document_id: int) -> tuple[Document, list[PageText]]:
    with session_scope(settings.database_url) as session:
        doc = session.get(Document, document_id)
        if doc is None:
            raise NotFound(f"no document with id {document_id}")
        rows = session.scalars(
            select(Page).where(Page.document_id == document_id).order_by(Page.number)
        ).all()
        pages = [
            PageText(
                number=p.number,
                text=p.text,
                method=p.method,
                confidence=p.ocr_confidence,
                words=p.words,
            )
            for p in rows
            if p.text.strip()
        ]
        session.expunge(doc)
    return doc, pages


def stored_outcome(settings: Settings, document_id: int, *, skipped: bool) -> ExtractionOutcome:
    """The document's current status and records as stored, with the usage of its runs."""
    with session_scope(settings.database_url) as session:
        doc = session.get(Document, document_id)
        if doc is None:
            raise NotFound(f"no document with id {document_id}")
        records = session.scalars(
            select(Record)
            .where(Record.document_id == document_id, Record.status != RecordStatus.SUPERSEDED)
            .order_by(Record.page_first)
        ).all()
        runs = session.scalars(select(AgentRun).where(AgentRun.document_id == document_id)).all()
        latest: dict[int, AgentRun] = {}
        for run in runs:
            if run.outcome != "running":
                latest[run.page_first] = run
        costs = [r.cost for r in latest.values() if r.cost is not None]
        usage = RunUsage(
            requests=sum(r.requests for r in latest.values()),
            prompt_tokens=sum(r.prompt_tokens for r in latest.values()),
            completion_tokens=sum(r.completion_tokens for r in latest.values()),
            latency_s=round(sum(r.latency_s for r in latest.values()), 3),
            cost=sum(costs) if costs else None,
        )
        return ExtractionOutcome(
            document_id=doc.id,
            filename=doc.filename,
            status=doc.status,
            records=[
                RecordOut(
                    record_id=r.id,
                    doc_type=r.doc_type,
                    pages=list(range(r.page_first, r.page_last + 1)),
                    status=r.status,
                    record=r.data,
                    issues=r.issues,
                    provenance=r.provenance,
                    confidence=r.confidence,
                    suggestions=r.suggestions or {},
                )
                for r in records
            ],
            usage=usage,
            skipped=skipped,
            reason=doc.error_message,
        )


def _set_status(settings: Settings, document_id: int, status: DocumentStatus) -> None:
    with session_scope(settings.database_url) as session:
        doc = session.get(Document, document_id)
        if doc is not None:
            failed_now = status == DocumentStatus.FAILED and doc.status != status
            doc.status = status
            doc.error_code = None
            doc.error_message = None
            if failed_now:
                session.flush()
                emit_event(
                    session, EventType.DOCUMENT_FAILED, document_payload(doc), document_id=doc.id
                )


def _document_status(results: list[RunResult]) -> DocumentStatus:
    outcomes = {r.outcome for r in results}
    if outcomes == {"extracted"}:
        return DocumentStatus.EXTRACTED
    if outcomes == {"failed"}:
        return DocumentStatus.FAILED
    return DocumentStatus.NEEDS_REVIEW


def _classify(pages: list[PageText], model: ChatModel) -> list[PageGroup]:
    with (
        telemetry.span("shipdoc.classify", {"shipdoc.pages": len(pages)}) as span,
        metrics.timed("classify"),
        metrics.purpose("classify"),
    ):
        try:
            groups = classify(pages, model)
        except ModelOutputInvalid:
            groups = classify(pages, None)
        span.set_attribute("shipdoc.groups", len(groups))
        span.set_attribute("shipdoc.doc_types", [g.doc_type for g in groups])
        return groups


def agent_limits(settings: Settings) -> AgentSettings:
    """The agent settings with ``constrained_output`` resolved for the configured backend."""
    limits = settings.agent
    if limits.constrained_output is None:
        constrained = settings.model.backend != "local"
        limits = limits.model_copy(update={"constrained_output": constrained})
    return limits


class DocumentBudget:
    """Model requests and pages per document, over all its page groups: a PDF that splits
    into 60 groups is not 60 runs of 8 requests. Groups past the budget go to review."""

    def __init__(self, settings: Settings) -> None:
        self.max_requests = settings.reliability.max_requests_per_document
        self.max_pages = settings.reliability.max_pages_per_document
        self.requests = 0
        self.pages = 0

    def requests_left(self) -> int:
        return max(self.max_requests - self.requests, 0)

    def refusal(self, group: PageGroup) -> str | None:
        if self.requests + len(group.responses) >= self.max_requests:
            return f"the document's budget of {self.max_requests} model requests is spent"
        if self.pages + len(group.pages) > self.max_pages:
            return f"the document's budget of {self.max_pages} pages is spent"
        return None

    def spend(self, requests: int, pages: int) -> None:
        self.requests += requests
        self.pages += pages


def _group_target(document_id: int, group: PageGroup, run_id: int | None = None) -> WriteTarget:
    """Where a page group's record (and its run, when there is one) is written."""
    return WriteTarget(
        document_id=document_id,
        page_first=group.first,
        page_last=group.last,
        doc_type=group.doc_type,
        run_id=run_id,
    )


def _over_budget(settings: Settings, document_id: int, group: PageGroup, reason: str) -> RunResult:
    """A page group the budget did not reach: stored for review, unread by the model."""
    issue = Issue(code="budget", field="", message=f"not extracted: {reason}")
    target = _group_target(document_id, group)
    with session_scope(settings.database_url) as session:
        written = write_back(
            session, target, WriteBackArgs(record={}), group.pages, extra_issues=[issue]
        )
    return RunResult(
        outcome="needs_review", reason=reason, record_id=written.record_id, issues=[issue]
    )


def _run_group(
    settings: Settings,
    document_id: int,
    group: PageGroup,
    model: ChatModel,
    tariff: TariffSource | None,
    *,
    max_requests: int | None = None,
) -> RunResult:
    if group.unsupported:
        return _unsupported(settings, document_id, group)
    with session_scope(settings.database_url) as session:
        decision = route_group(session, group.doc_type, group.pages)
        model = tier_model(settings, decision.tier, model)
        run = start_run(
            session,
            document_id=document_id,
            page_first=group.first,
            page_last=group.last,
            doc_type=group.doc_type,
            model=model.name,
            prompt_version=prompt_version(),
        )
        run.route_tier = decision.tier
        run.route_features = decision.features.model_dump() | {
            "score": decision.score,
            "reasons": decision.reasons,
        }
        run_id = run.id
    metrics.ROUTE_DECISIONS.labels(decision.tier).inc()
    target = _group_target(document_id, group, run_id)
    ctx = ToolContext(
        target=target,
        pages=group.pages,
        database_url=settings.database_url,
        tariff=tariff,
        candidates=render_candidates(tariff_candidates(group.pages, tariff)),
    )
    ctx.field_candidates = find_candidates(group.pages)
    if settings.agent.prompt_hints:
        ctx.hints = render_hints(group.doc_type, ctx.field_candidates)
    ctx.decimal = decimal_of("\n".join(p.text for p in group.pages))
    attributes = {
        "shipdoc.run_id": run_id,
        "shipdoc.doc_type": group.doc_type,
        "shipdoc.page_first": group.first,
        "shipdoc.page_last": group.last,
        "shipdoc.route.tier": decision.tier,
        "shipdoc.route.score": decision.score,
    }
    with (
        telemetry.span("shipdoc.agent_run", attributes) as span,
        metrics.timed("extract"),
        metrics.purpose("extract"),
    ):
        try:
            limits = agent_limits(settings)
            if max_requests is not None and max_requests < limits.max_requests:
                limits = limits.model_copy(update={"max_requests": max_requests})
            result = run_extraction(model, ctx, limits, request_timeout_s=settings.model.timeout_s)
        except Exception as exc:
            telemetry.fail(span, exc)
            _close_run(settings, run_id, exc)
            raise
        span.set_attribute("shipdoc.outcome", result.outcome)
        span.set_attribute("shipdoc.requests", result.requests)
    totals = RunTotals(
        requests=result.requests + len(group.responses),
        prompt_tokens=result.usage.prompt_tokens + _sum(group, "prompt_tokens"),
        completion_tokens=result.usage.completion_tokens + _sum(group, "completion_tokens"),
        latency_s=result.latency_s + sum(r.latency_s for r in group.responses),
        outcome=result.outcome,
        reason=result.reason,
        cost=result.cost,
        error=_error_text(result) if result.outcome == "failed" else None,
        fallback_requests=result.fallback_requests,
        fallback_cost=result.fallback_cost,
        failed_primary_cost=result.failed_primary_cost,
    )
    _finish(settings, run_id, totals, result.tool_calls)
    return result


def _error_text(result: RunResult) -> str:
    return f"{result.code}: {result.reason}" if result.code else (result.reason or "failed")


def _close_run(settings: Settings, run_id: int, exc: BaseException) -> None:
    """A run that an exception ended is closed ``failed``; best effort (the database may be
    what failed: the worker's retry closes it then)."""
    error = str(exc) if isinstance(exc, ShipdocError) else f"{type(exc).__name__}: {exc}"
    try:
        _finish(settings, run_id, RunTotals(outcome="failed", error=error), [])
    except Exception:
        log.warning("run %s could not be closed: %s", run_id, error)


def _sum(group: PageGroup, key: str) -> int:
    total = Usage()
    for response in group.responses:
        total = total + response.usage
    return int(getattr(total, key))


def _finish(
    settings: Settings, run_id: int, totals: RunTotals, tool_calls: list[ToolCallLog]
) -> None:
    with session_scope(settings.database_url) as session:
        run = session.get(AgentRun, run_id)
        if run is not None:
            finish_run(session, run, totals)
            record_tool_calls(session, run_id, tool_calls)


def _unsupported(settings: Settings, document_id: int, group: PageGroup) -> RunResult:
    """A page group that is none of the four types, or whose type could not be decided,
    says so instead of a forced record."""
    if group.reason == "undecided":
        code, message = "document_type_unknown", "the document type could not be decided"
    else:
        code = "not_a_shipment_document"
        message = "none of bill of lading, commercial invoice, packing list, customs declaration"
    detail = f": {group.detail}" if group.detail else ""
    issue = Issue(code=code, field="", message=message + detail)
    target = _group_target(document_id, group)
    with session_scope(settings.database_url) as session:
        record_id = store_failed(session, target, [issue])
    return RunResult(
        outcome="failed",
        reason=issue.message,
        code=issue.code,
        record_id=record_id,
        issues=[issue],
        requests=len(group.responses),
    )


def _no_text(settings: Settings, doc: Document) -> ExtractionOutcome:
    issue = Issue(code="no_text", field="", message="no page of the document has readable text")
    target = WriteTarget(
        document_id=doc.id,
        page_first=1,
        page_last=max(doc.page_count or 1, 1),
        doc_type="commercial_invoice",
    )
    with session_scope(settings.database_url) as session:
        store_failed(session, target, [issue])
    fail_document(settings, doc.id, issue.code, issue.message)
    return stored_outcome(settings, doc.id, skipped=False)


def extract_document(
    document_id: int,
    *,
    settings: Settings | None = None,
    model: ChatModel | None = None,
    tariff: TariffSource | None = None,
    force: bool = False,
) -> ExtractionOutcome:
    """Run the extraction of a stored document and store its records and runs."""
    settings = settings or get_settings()
    with telemetry.span("shipdoc.extract_document", {"shipdoc.document_id": document_id}) as span:
        outcome = _extract_outcome(document_id, settings, model, tariff, force)
        span.set_attribute("shipdoc.status", outcome.status)
        span.set_attribute("shipdoc.skipped", outcome.skipped)
        return outcome


def _extract_outcome(
    document_id: int,
    settings: Settings,
    model: ChatModel | None,
    tariff: TariffSource | None,
    force: bool,
) -> ExtractionOutcome:
    ensure_current(settings.database_url)
    try:
        return _extract(document_id, settings, model, tariff, force=force)
    except Exception as exc:
        if is_transient(exc) or isinstance(exc, NotFound):
            raise
        code, message = failure_of(exc)
        log.error("document %s failed: %s: %s", document_id, code, message, exc_info=exc)
        fail_document(settings, document_id, code, message)
        return stored_outcome(settings, document_id, skipped=False)


def is_transient(exc: BaseException) -> bool:
    """Failures that may heal by themselves: the caller retries the document."""
    if isinstance(exc, ModelError):
        return exc.transient
    return isinstance(exc, OperationalError)


def failure_of(exc: BaseException) -> tuple[str, str]:
    """The typed code and message stored for an exception that ended a document."""
    if isinstance(exc, ShipdocError):
        return exc.code, exc.message
    return INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"[:2000]


def fail_document(settings: Settings, document_id: int, code: str, message: str) -> None:
    """End the document ``failed`` (``rejected`` for bad input) with its code and message."""
    status = DocumentStatus.REJECTED if code in _INPUT_CODES else DocumentStatus.FAILED
    with session_scope(settings.database_url) as session:
        before = session.scalar(select(Document.status).where(Document.id == document_id))
        session.execute(
            update(Document)
            .where(Document.id == document_id)
            .values(status=status, error_code=code[:64], error_message=message, updated_at=utcnow())
        )
        doc = session.get(Document, document_id)
        if doc is not None and before != status:
            kind = (
                EventType.DOCUMENT_REJECTED
                if status == DocumentStatus.REJECTED
                else EventType.DOCUMENT_FAILED
            )
            emit_event(session, kind, document_payload(doc), document_id=document_id)


_INPUT_CODES = {c.code for c in InputError.__subclasses__()} | {InputError.code}


def _extract(
    document_id: int,
    settings: Settings,
    model: ChatModel | None,
    tariff: TariffSource | None,
    *,
    force: bool,
) -> ExtractionOutcome:
    doc, pages = _load(settings, document_id)
    if doc.status == DocumentStatus.RECEIVED:
        parse_document(document_id, settings=settings)
        doc, pages = _load(settings, document_id)
    if doc.status == DocumentStatus.REJECTED:
        return stored_outcome(settings, document_id, skipped=True)
    if doc.status in FINAL and not force and _has_records(settings, document_id):
        return stored_outcome(settings, document_id, skipped=True)
    if not pages:
        return _no_text(settings, doc)
    model = traced(model or shared_model(settings))
    tariff = tariff or KbTariff(settings)
    task = f"extract {doc.filename}"
    progress.report(task, 0, len(pages), unit="pages", detail="classify")
    groups = _classify(pages, model)
    results, done = [], 0
    budget = DocumentBudget(settings)
    for group in groups:
        progress.report(task, done, len(pages), unit="pages", detail=group.doc_type)
        refusal = budget.refusal(group)
        if refusal is not None:
            results.append(_over_budget(settings, document_id, group, refusal))
        else:
            result = _run_group(
                settings, document_id, group, model, tariff, max_requests=budget.requests_left()
            )
            budget.spend(result.requests + len(group.responses), len(group.pages))
            results.append(result)
        done += len(group.pages)
        progress.report(task, done, len(pages), unit="pages")
    _drop_stale_records(settings, document_id, {g.first for g in groups})
    status = _document_status(results)
    failed = next((r for r in results if r.outcome == "failed"), None)
    if status == DocumentStatus.FAILED and failed is not None:
        fail_document(
            settings, document_id, failed.code or "extraction_failed", failed.reason or "failed"
        )
    else:
        _set_status(settings, document_id, status)
    return stored_outcome(settings, document_id, skipped=False)


def _has_records(settings: Settings, document_id: int) -> bool:
    with session_scope(settings.database_url) as session:
        found = session.scalars(select(Record.id).where(Record.document_id == document_id))
        return found.first() is not None


def _drop_stale_records(settings: Settings, document_id: int, firsts: set[int]) -> None:
    """Records of an earlier grouping that this run no longer produced: deleted, unless a
    reviewer worked on them (then kept as ``superseded``, with their reviews)."""
    stale = (Record.document_id == document_id, Record.page_first.not_in(firsts))
    reviewed = exists().where(RecordReview.record_id == Record.id)
    with session_scope(settings.database_url) as session:
        session.execute(
            update(Record)
            .where(*stale, reviewed)
            .values(status=RecordStatus.SUPERSEDED, updated_at=utcnow())
        )
        session.execute(delete(Record).where(*stale, ~reviewed))


def extract_file(
    path: Path,
    *,
    settings: Settings | None = None,
    model: ChatModel | None = None,
    force: bool = False,
) -> tuple[IngestResult, ExtractionOutcome | None]:
    """Ingest ``path`` and extract it; no outcome when intake rejected the file."""
    settings = settings or get_settings()
    ingested = ingest_path(path, settings=settings)
    if ingested.status == DocumentStatus.REJECTED:
        return ingested, None
    outcome = extract_document(ingested.document_id, settings=settings, model=model, force=force)
    return ingested, outcome
