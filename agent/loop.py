"""One bounded extraction run over one page group: extract, validate, repair if it can help.

1. Extract (agent/extraction): one request per window of pages, most documents one.
2. Printed is not suggested: tariff codes the pages do not print leave the record for its
   suggestions (tools/printed) before anything is judged.
3. Validate deterministically. A clean record, or one whose issues a model cannot fix by
   reading again, is written back at once.
4. Repair (agent/repair): otherwise the model gets the fixable issues and the tools until
   it calls ``write_back`` or a bound (agent/metering) is hit. A bound hit writes the best
   record so far as ``needs_review`` with the reason.

Transient failures (``ModelUnavailable``, ``ModelTimeout``, a lost database connection)
propagate so that the caller can retry the document; every other ending is a recorded
outcome: a tool mistake goes back to the model, and our own defects (any other exception,
from the loop or a tool) end the run ``failed`` with the code ``internal_error``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError

from agent.crosscheck import crosscheck
from agent.extraction import extract_values
from agent.metering import BoundHit, Metered
from agent.models.base import ChatModel, ModelError, ModelOutputInvalid, Usage
from agent.repair import Declined, Repair, pipeline_call
from agent.tools import ToolContext, ToolCrashed, execute
from core.db import session_scope
from core.models import RecordStatus
from core.settings import AgentSettings
from core.values import normalize_container
from tools.printed import split_printed
from tools.validate import Issue, add_printed_containers, normalize, validate
from tools.writeback import ToolCallLog, write_failed

__all__ = ["INTERNAL_ERROR", "BoundHit", "Metered", "RunResult", "run_extraction"]

log = logging.getLogger(__name__)

INTERNAL_ERROR = "internal_error"

Outcome = Literal["extracted", "needs_review", "failed"]

# Issues a second look at the page can fix: a misread number, date, code or container
# number. Not: a field the document does not print (asking for it invites a guess) or a
# printed code the tariff does not know (the document prints it that way).
REPAIRABLE = frozenset(
    {
        "container_number",
        "line_amount",
        "lines_total",
        "weights",
        "date",
        "currency_code",
        "country_code",
        "incoterm",
        "locode",
    }
)


class RunResult(BaseModel):
    outcome: Outcome
    reason: str | None = None
    # The typed error of a failed run (``internal_error``, ``model_output_invalid``, ...).
    code: str | None = None
    record_id: int | None = None
    values: dict[str, Any] | None = None
    issues: list[Issue] = Field(default_factory=list)
    requests: int = 0
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    cost: float | None = None
    fallback_requests: int = 0
    fallback_cost: float | None = None
    failed_primary_cost: float | None = None
    tool_calls: list[ToolCallLog] = Field(default_factory=list)


_CONTAINER_FIELD = re.compile(r"containers\[(\d+)\]\.number")


def repairable(
    issues: list[Issue], values: dict[str, Any] | None = None, text: str = ""
) -> list[Issue]:
    """The issues a second look at the page can fix. A container number that fails its
    check digit exactly as the document prints it is not one: reading it again gives the
    same number (and asking for another invites a guess)."""
    printed = normalize_container(text)
    out = []
    for issue in issues:
        if issue.code not in REPAIRABLE:
            continue
        if issue.code == "container_number" and _as_printed(issue, values or {}, printed):
            continue
        out.append(issue)
    return out


def _as_printed(issue: Issue, values: dict[str, Any], printed: str) -> bool:
    match = _CONTAINER_FIELD.fullmatch(issue.field)
    rows = values.get("containers") or []
    if match is None or int(match.group(1)) >= len(rows):
        return False
    number = normalize_container(str(rows[int(match.group(1))].get("number") or ""))
    return bool(number) and number in printed


def _first_record(model: Metered, ctx: ToolContext, limits: AgentSettings) -> dict[str, Any]:
    values = extract_values(model, ctx, limits)
    text = "\n".join(p.text for p in ctx.pages)
    if ctx.target.doc_type == "bill_of_lading":
        values = add_printed_containers(values, text)
    values, unprinted = split_printed(values, text)
    for path, items in unprinted.items():
        ctx.suggestions[path] = [*items, *ctx.suggestions.get(path, [])]
    checked = crosscheck(ctx.target.doc_type, values, ctx.field_candidates)
    ctx.verdicts.update(checked.verdicts)
    ctx.extra_issues.extend(checked.issues)
    return checked.values


def _write(ctx: ToolContext, record: dict[str, Any], logs: list[ToolCallLog]) -> None:
    _content, log = execute(ctx, pipeline_call("write_back", {"record": record}, len(logs)))
    logs.append(log)
    if log.error is not None:
        raise ModelOutputInvalid(f"the record could not be written: {log.error}")


def run_extraction(
    model: ChatModel,
    ctx: ToolContext,
    limits: AgentSettings,
    *,
    clock: Callable[[], float] = time.monotonic,
    request_timeout_s: float = 120.0,
) -> RunResult:
    """Extract, validate, repair if needed, write back; always returns a recorded outcome."""
    metered = Metered(model, limits, clock, request_timeout_s)
    logs: list[ToolCallLog] = []
    reason: str | None = None
    code: str | None = None
    try:
        reason = _run(metered, ctx, limits, logs)
    except ModelError as exc:
        if exc.transient:
            raise
        code, reason = exc.code, str(exc)
    except ToolCrashed as exc:
        logs.append(exc.log)
        if isinstance(exc.__cause__, OperationalError):
            raise exc.__cause__ from None
        log.error("run %s: %s", ctx.target.run_id, exc.log.error, exc_info=exc.__cause__)
        code, reason = INTERNAL_ERROR, exc.log.error
    except OperationalError:
        raise
    except Exception as exc:
        log.exception("run %s ended by a defect", ctx.target.run_id)
        code, reason = INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"
    return _result(ctx, metered, logs, reason, code)


def _run(
    metered: Metered, ctx: ToolContext, limits: AgentSettings, logs: list[ToolCallLog]
) -> str | None:
    """The run's steps; returns the reason when a bound ended it."""
    values: dict[str, Any] | None = None
    try:
        values = _first_record(metered, ctx, limits)
        normalized = normalize(ctx.target.doc_type, values)
        issues = validate(ctx.target.doc_type, normalized, hs_exists=ctx.hs_exists()).errors
        text = "\n".join(p.text for p in ctx.pages)
        fixable = repairable(issues, normalized, text)
        if fixable and limits.repair:
            ctx.base_record = values
            try:
                Repair(metered, ctx, limits, logs).run(values, fixable)
            except Declined as exc:
                ctx.extra_issues.append(Issue(code="repair_declined", field="", message=str(exc)))
                _write(ctx, ctx.last_record or values, logs)
                return str(exc)
            except ModelError as exc:
                # The repair only improves a record we already have: a reply it cannot get
                # (an overlong prompt, output that never validates) leaves that record for
                # review instead of failing the document. Transient errors still retry.
                if exc.transient or ctx.written is not None:
                    raise
                ctx.extra_issues.append(Issue(code="repair_failed", field="", message=str(exc)))
                _write(ctx, ctx.last_record or values, logs)
        else:
            _write(ctx, values, logs)
    except BoundHit as exc:
        if ctx.written is None:
            ctx.extra_issues.append(Issue(code="bound", field="", message=str(exc)))
            _write(ctx, ctx.last_record or values or {}, logs)
        return str(exc)
    return None


def _result(
    ctx: ToolContext,
    metered: Metered,
    logs: list[ToolCallLog],
    reason: str | None,
    code: str | None = None,
) -> RunResult:
    common: dict[str, Any] = {
        "requests": metered.requests,
        "usage": metered.usage,
        "latency_s": round(metered.elapsed_s(), 3),
        "cost": metered.cost,
        "fallback_requests": metered.fallback_requests,
        "fallback_cost": metered.fallback_cost,
        "failed_primary_cost": metered.failed_primary_cost,
        "tool_calls": logs,
    }
    if ctx.written is None:
        issue_code = INTERNAL_ERROR if code == INTERNAL_ERROR else "extraction_failed"
        failure = Issue(code=issue_code, field="", message=reason or "no record")
        with session_scope(ctx.database_url) as session:
            record_id = write_failed(session, ctx.target, [failure])
        return RunResult(
            outcome="failed",
            reason=reason,
            code=code or issue_code,
            record_id=record_id,
            issues=[failure],
            **common,
        )
    written = ctx.written
    outcome: Outcome = "extracted" if written.status == RecordStatus.EXTRACTED else "needs_review"
    return RunResult(
        outcome=outcome,
        reason=reason,
        record_id=written.record_id,
        values=written.values,
        issues=written.issues,
        **common,
    )
