"""Write-back: the record of the current run's page group, the run, and its tool calls.

The target (document, pages, doc type, run) comes from the run's context, never from the
model: ``WriteBackArgs`` holds only the record, so a model cannot name another document,
and the status is computed here from validation, so a model cannot approve a record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import metrics, telemetry
from core.events import EventType, emit_event, record_payload
from core.models import AgentRun, Record, RecordStatus, ToolCallRow
from core.records import SCHEMA_VERSION, DocType
from tools.confidence import THRESHOLD, confidences, field_evidence, uncertain_required
from tools.printed import Suggestion, as_json, split_printed
from tools.provenance import PageText, locate
from tools.validate import HsExists, Issue, normalize, validate


class WriteBackArgs(BaseModel):
    """Arguments of the ``write_back`` tool: the final record, nothing else."""

    model_config = ConfigDict(extra="forbid")
    record: dict[str, Any] = Field(description="the final record, shaped as the output schema")


class WriteTarget(BaseModel):
    """Where a write goes; built by the pipeline from the run, never by the model."""

    document_id: int
    page_first: int
    page_last: int
    doc_type: DocType
    run_id: int | None = None


class WriteBackResult(BaseModel):
    record_id: int
    status: RecordStatus
    issues: list[Issue]
    values: dict[str, Any]
    suggestions: dict[str, list[Suggestion]] = Field(default_factory=dict)


def status_for(issues: list[Issue]) -> RecordStatus:
    """``extracted`` only when validation found no error and no required field is uncertain
    (``low_confidence``); the one place a status is chosen."""
    review = any(i.severity == "error" or i.code == "low_confidence" for i in issues)
    return RecordStatus.NEEDS_REVIEW if review else RecordStatus.EXTRACTED


def write_back(
    session: Session,
    target: WriteTarget,
    args: WriteBackArgs,
    pages: list[PageText],
    *,
    hs_exists: HsExists | None = None,
    extra_issues: list[Issue] | None = None,
    suggestions: dict[str, list[Suggestion]] | None = None,
    verdicts: dict[str, str] | None = None,
    threshold: float = THRESHOLD,
) -> WriteBackResult:
    """Normalize, validate and store the record; status follows from the issues.

    Tariff codes that the pages do not print leave the record for its suggestions (with
    ``suggestions`` from the caller, e.g. tariff lookups): printed is not suggested.
    """
    attributes = {"shipdoc.doc_type": target.doc_type, "shipdoc.run_id": target.run_id}
    with telemetry.span("shipdoc.write_back", attributes) as span, metrics.timed("write_back"):
        result = _write_back(
            session,
            target,
            args,
            pages,
            hs_exists,
            extra_issues,
            suggestions,
            verdicts,
            threshold,
        )
        span.set_attribute("shipdoc.record_status", result.status)
        span.set_attribute("shipdoc.issues", len(result.issues))
        return result


def _write_back(
    session: Session,
    target: WriteTarget,
    args: WriteBackArgs,
    pages: list[PageText],
    hs_exists: HsExists | None,
    extra_issues: list[Issue] | None,
    suggestions: dict[str, list[Suggestion]] | None,
    verdicts: dict[str, str] | None,
    threshold: float,
) -> WriteBackResult:
    values = normalize(target.doc_type, args.record)
    values, unprinted = split_printed(values, "\n".join(p.text for p in pages))
    proposed = {**(suggestions or {})}
    for path, items in unprinted.items():
        proposed[path] = [*items, *proposed.get(path, [])]
    issues = validate(target.doc_type, values, hs_exists=hs_exists).issues
    issues = [*issues, *(extra_issues or [])]
    provenance, sources = locate(values, pages)
    evidence = field_evidence(sources, verdicts, issues)
    confidence = confidences(evidence)
    for path, ev in evidence.items():  # what each confidence rests on, for a later fit
        provenance.setdefault(path, {})["evidence"] = ev.as_json()
    issues += uncertain_required(target.doc_type, values, confidence, threshold, issues)
    status = status_for(issues)
    row = _upsert(
        session,
        target,
        data=values,
        status=status,
        issues=[i.model_dump() for i in issues],
        provenance=provenance,
        confidence=confidence,
        suggestions=as_json(proposed),
    )
    kind = (
        EventType.RECORD_EXTRACTED
        if status is RecordStatus.EXTRACTED
        else EventType.RECORD_NEEDS_REVIEW
    )
    emit_event(session, kind, record_payload(row), document_id=row.document_id, record_id=row.id)
    return WriteBackResult(
        record_id=row.id, status=status, issues=issues, values=values, suggestions=proposed
    )


def write_failed(session: Session, target: WriteTarget, issues: list[Issue]) -> int:
    """Record that nothing usable came out of a page group (status ``failed``)."""
    row = _upsert(
        session,
        target,
        data={},
        status=RecordStatus.FAILED,
        issues=[i.model_dump() for i in issues],
        provenance={},
        confidence={},
    )
    return row.id


def _upsert(
    session: Session,
    target: WriteTarget,
    *,
    data: dict[str, Any],
    status: RecordStatus,
    issues: list[dict[str, Any]],
    provenance: dict[str, Any],
    confidence: dict[str, Any],
    suggestions: dict[str, Any] | None = None,
) -> Record:
    row = session.scalars(
        select(Record).where(
            Record.document_id == target.document_id, Record.page_first == target.page_first
        )
    ).one_or_none()
    if row is None:
        row = Record(document_id=target.document_id, page_first=target.page_first)
        session.add(row)
    row.page_last = target.page_last
    row.doc_type = target.doc_type
    row.schema_version = SCHEMA_VERSION
    row.data = data
    row.status = status.value
    row.issues = issues
    row.provenance = provenance
    row.confidence = confidence
    row.suggestions = suggestions or {}
    row.run_id = target.run_id
    session.flush()
    return row


# --- runs and tool calls ------------------------------------------------------------------


def start_run(
    session: Session,
    *,
    document_id: int,
    page_first: int,
    page_last: int,
    doc_type: str | None,
    model: str,
    prompt_version: str,
) -> AgentRun:
    run = AgentRun(
        document_id=document_id,
        page_first=page_first,
        page_last=page_last,
        doc_type=doc_type,
        model=model,
        prompt_version=prompt_version,
        outcome="running",
    )
    session.add(run)
    session.flush()
    return run


class RunTotals(BaseModel):
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    outcome: str
    reason: str | None = None
    cost: float | None = None
    error: str | None = None
    fallback_requests: int = 0
    fallback_cost: float | None = None
    failed_primary_cost: float | None = None


def finish_run(session: Session, run: AgentRun, totals: RunTotals) -> None:
    run.requests = totals.requests
    run.prompt_tokens = totals.prompt_tokens
    run.completion_tokens = totals.completion_tokens
    run.latency_s = totals.latency_s
    run.outcome = totals.outcome
    run.reason = totals.reason
    run.cost = totals.cost
    run.error = totals.error
    run.fallback_requests = totals.fallback_requests
    run.fallback_cost = totals.fallback_cost
    run.failed_primary_cost = totals.failed_primary_cost
    run.finished_at = datetime.now(UTC)
    session.flush()


class ToolCallLog(BaseModel):
    call_id: str | None
    name: str
    arguments: dict[str, Any]
    result_summary: str
    latency_s: float
    error: str | None = None


def record_tool_calls(session: Session, run_id: int, calls: list[ToolCallLog]) -> None:
    for seq, call in enumerate(calls):
        session.add(
            ToolCallRow(
                run_id=run_id,
                seq=seq,
                call_id=call.call_id,
                name=call.name,
                arguments=call.arguments,
                result_summary=call.result_summary[:2000],
                latency_s=call.latency_s,
                error=call.error,
            )
        )
    session.flush()
