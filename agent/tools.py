"""The agent's tools: a registry of typed functions and the context they act in.

Every tool acts on the context's document and page group only; no argument names a
document, a record id or a status. A mistake the model can fix (unknown tool, bad
arguments, a page outside the document) goes back to it as an error result on its call id;
failures of our own infrastructure raise.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.crosscheck import final_verdicts
from agent.models.base import ToolCall, ToolSpec
from agent.prompting import scrub_prompt_leaks
from core import telemetry
from core.db import session_scope
from core.errors import ShipdocError
from core.records import Scalar, UnknownField, overlay, patch_values, values_model_for
from tools.candidates import Candidate
from tools.printed import Suggestion
from tools.provenance import PageText
from tools.validate import Issue, coerce_types, normalize, validate
from tools.writeback import ToolCallLog, WriteBackArgs, WriteBackResult, WriteTarget, write_back


class TariffOption(BaseModel):
    code: str
    title: str
    score: float = 0.0
    # False when the ranking's best code does not clearly lead (tools/tariff.tariff_lookup)
    confident: bool = True


class TariffSource(Protocol):
    """The knowledge base's tariff, as the tools need it."""

    def lookup(self, description: str, origin: str | None, top_k: int) -> list[TariffOption]: ...

    def exists(self, code: str) -> bool: ...


class ToolFailure(Exception):
    """A mistake the model can fix; the message goes back to it on the call id."""


class ToolCrashed(Exception):
    """A tool raised something that is not the model's mistake: our defect or infrastructure.

    Carries the call's log entry so that the run still records the call that crashed; the
    original exception is the ``__cause__``.
    """

    def __init__(self, log: ToolCallLog) -> None:
        super().__init__(log.error or "tool crashed")
        self.log = log


@dataclass
class ToolContext:
    target: WriteTarget
    pages: list[PageText]
    database_url: str
    tariff: TariffSource | None = None
    written: WriteBackResult | None = None
    # The last complete record a tool checked (fix_fields laid over the extraction, write_back).
    last_record: dict[str, Any] | None = None
    extra_issues: list[Issue] = field(default_factory=list)
    # Precomputed tariff candidates (agent/candidates), rendered for the prompt.
    candidates: str = ""
    # The first extraction; a repair's record is laid over it, and kept only if better.
    base_record: dict[str, Any] | None = None
    # What we propose beside the printed record (tariff candidates), by field path.
    suggestions: dict[str, list[Suggestion]] = field(default_factory=dict)
    # Deterministic field candidates (tools/candidates), their hints for the prompt, how
    # each checked field compared with the model's value, the document's decimal separator.
    field_candidates: list[Candidate] = field(default_factory=list)
    hints: str = ""
    verdicts: dict[str, str] = field(default_factory=dict)
    decimal: str | None = None

    def hs_exists(self) -> Callable[[str], bool] | None:
        return self.tariff.exists if self.tariff is not None else None


class LookupTariffArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = Field(
        min_length=1, max_length=2000, description="goods description as printed"
    )
    origin: str | None = Field(default=None, description="ISO country of origin, if known")


class FixFieldsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fields: dict[str, Scalar] = Field(
        description="only the fields to change, named as in the problems (total, "
        "buyer.country, line_items[2].amount) -> the value as printed; {} keeps the record"
    )


class GetPageArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page: int = Field(description="1-based page number of this document")


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args_model: type[BaseModel]
    handler: Callable[[ToolContext, Any], Any]

    def spec(self) -> ToolSpec:
        schema = self.args_model.model_json_schema()
        schema.pop("title", None)
        return ToolSpec(name=self.name, description=self.description, parameters=schema)


def _lookup_tariff(ctx: ToolContext, args: LookupTariffArgs) -> Any:
    if ctx.tariff is None:
        raise ToolFailure("the tariff knowledge base is not available in this run")
    try:
        options = ctx.tariff.lookup(args.description, args.origin, 5)
    except ShipdocError as exc:
        raise ToolFailure(f"tariff lookup is unavailable: {exc}") from exc
    sure = bool(options) and options[0].confident
    return {
        "verdict": "confident" if sure else "unsure",
        "note": "" if sure else _UNSURE,
        "candidates": [o.model_dump(exclude={"confident"}) for o in options],
    }


_UNSURE = (
    "several codes fit this description about equally; choose one only if the document "
    "says more (material, use, composition), otherwise leave the code empty for review"
)


def _error_count(ctx: ToolContext, record: dict[str, Any]) -> int:
    values = normalize(ctx.target.doc_type, record)
    return len(validate(ctx.target.doc_type, values, hs_exists=ctx.hs_exists()).errors)


def _checked_record(ctx: ToolContext, record: dict[str, Any]) -> dict[str, Any]:
    record = coerce_types(ctx.target.doc_type, record)
    if ctx.base_record is not None:
        record = overlay(ctx.base_record, record)
    try:
        values_model_for(ctx.target.doc_type).model_validate(record)
    except ValidationError as exc:
        raise ToolFailure(f"record does not match the output schema: {_errors(exc)}") from exc
    record, leaks = scrub_prompt_leaks(record)
    for path in leaks:
        if not any(i.code == "prompt_leak" and i.field == path for i in ctx.extra_issues):
            ctx.extra_issues.append(
                Issue(code="prompt_leak", field=path, message="value quoted the system prompt")
            )
    ctx.last_record = record
    return record


def _get_page(ctx: ToolContext, args: GetPageArgs) -> Any:
    for page in ctx.pages:
        if page.number == args.page:
            return {"page": page.number, "text": page.text}
    numbers = ", ".join(str(p.number) for p in ctx.pages)
    raise ToolFailure(f"page {args.page} is not part of this document (pages: {numbers})")


def _fix_fields(ctx: ToolContext, args: FixFieldsArgs) -> Any:
    """The extraction with the model's corrections laid over it, written back."""
    model = values_model_for(ctx.target.doc_type)
    try:
        record = patch_values(model, ctx.base_record or {}, args.fields)
    except UnknownField as exc:
        raise ToolFailure(f"{exc}; name fields as the problems do") from exc
    return _save(ctx, record)


def _write_back(ctx: ToolContext, args: WriteBackArgs) -> Any:
    return _save(ctx, args.record)


def _save(ctx: ToolContext, record: dict[str, Any]) -> Any:
    record = _checked_record(ctx, record)
    base = ctx.base_record
    if base is not None and _error_count(ctx, base) < _error_count(ctx, record):
        # A repair that made the record worse is not kept; its issues stay visible.
        record = base
    with session_scope(ctx.database_url) as session:
        result = write_back(
            session,
            ctx.target,
            WriteBackArgs(record=record),
            ctx.pages,
            hs_exists=ctx.hs_exists(),
            extra_issues=ctx.extra_issues,
            suggestions=ctx.suggestions,
            verdicts=final_verdicts(
                ctx.target.doc_type, record, ctx.field_candidates, ctx.verdicts
            ),
        )
    ctx.written = result
    return {"saved": True, "status": result.status.value, "issues": len(result.issues)}


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool(
            "lookup_tariff",
            "Tariff (HS) code candidates for a goods description.",
            LookupTariffArgs,
            _lookup_tariff,
        ),
        Tool("get_page", "The text of one page of this document.", GetPageArgs, _get_page),
        Tool(
            "fix_fields",
            "Save the record with corrected values for the named fields only; every other "
            "field keeps its value. The review status follows from validation.",
            FixFieldsArgs,
            _fix_fields,
        ),
        # The pipeline's own write of a complete record; not offered to the model.
        Tool(
            "write_back",
            "Save the final record of this document. The review status follows from validation.",
            WriteBackArgs,
            _write_back,
        ),
    )
}

# What the repair offers the model: it corrects fields, it does not write the record again.
REPAIR_TOOLS = ("get_page", "lookup_tariff", "fix_fields")


def tool_specs(names: Collection[str] = REPAIR_TOOLS) -> list[ToolSpec]:
    return [TOOLS[name].spec() for name in names]


def _errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:8]:
        where = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _coerce(tool: Tool, raw: dict[str, Any]) -> dict[str, Any]:
    """Small models sometimes pass the record as a JSON string instead of an object."""
    if "record" not in tool.args_model.model_fields:
        return raw
    record = raw.get("record")
    if isinstance(record, str):
        try:
            raw = {**raw, "record": json.loads(record)}
        except json.JSONDecodeError:
            return raw
    return raw


# Column widths of tool_calls (call_id, name) and the most argument text kept in a log.
_ID_CHARS = 100
_RAW_CHARS = 4000


def _without_nul(value: Any) -> Any:
    """``value`` with NUL characters removed from every string (PostgreSQL JSON refuses them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _parsed_arguments(call: ToolCall) -> tuple[dict[str, Any], str | None]:
    """The call's arguments, or the raw text kept under ``_raw`` and why it did not parse."""
    try:
        return _without_nul(call.arguments()), None
    except (ValueError, RecursionError) as exc:
        raw = call.arguments_json.replace("\x00", "")[:_RAW_CHARS]
        return {"_raw": raw}, str(exc) or type(exc).__name__


def execute(
    ctx: ToolContext, call: ToolCall, offered: Collection[str] | None = None
) -> tuple[str, ToolCallLog]:
    """Run one call; returns the text for the tool message and the log entry.

    ``offered``: the tools the model was given (None: any tool, for the pipeline's own
    calls); a call of another tool is refused back to the model like an unknown one.
    Raises ``ToolCrashed`` when the tool failed for a reason that is not the model's.
    """
    attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": call.name,
        "gen_ai.tool.call.id": call.id,
    }
    with telemetry.span(f"execute_tool {call.name}", attributes) as span:
        content, log = _execute(ctx, call, offered)
        if log.error is not None:
            span.set_attribute("error.type", "tool_error")
        return content, log


def _execute(
    ctx: ToolContext, call: ToolCall, offered: Collection[str] | None
) -> tuple[str, ToolCallLog]:
    started = time.monotonic()
    arguments, unparsed = _parsed_arguments(call)
    error: str | None = None
    names = list(TOOLS) if offered is None else list(offered)
    try:
        tool = TOOLS.get(call.name) if call.name in names else None
        if tool is None:
            name = call.name[:_ID_CHARS]
            raise ToolFailure(f"unknown tool {name!r}; the tools are: {', '.join(names)}")
        if unparsed is not None:
            raise ToolFailure(f"arguments are not a JSON object: {unparsed}")
        try:
            args = tool.args_model.model_validate(_coerce(tool, arguments))
        except ValidationError as exc:
            raise ToolFailure(f"bad arguments for {tool.name}: {_errors(exc)}") from exc
        try:
            result = tool.handler(ctx, args)
        except ValidationError as exc:
            # A value the tool's own argument checks refused: still the model's to fix.
            raise ToolFailure(f"bad arguments for {tool.name}: {_errors(exc)}") from exc
        content = json.dumps(result, ensure_ascii=False, default=str)
    except ToolFailure as exc:
        error = str(exc)
        content = json.dumps({"error": error})
    except Exception as exc:
        crash = f"internal error in tool {call.name[:_ID_CHARS]!r}: {type(exc).__name__}: {exc}"
        raise ToolCrashed(_log(call, arguments, "", started, crash)) from exc
    return content, _log(call, arguments, content, started, error)


def refused(call: ToolCall, why: str) -> ToolCallLog:
    """The log entry of a call that was not run, with its arguments as the model sent them."""
    arguments, _unparsed = _parsed_arguments(call)
    return _log(call, arguments, json.dumps({"error": why}), None, why)


def _log(
    call: ToolCall,
    arguments: dict[str, Any],
    content: str,
    started: float | None,
    error: str | None,
) -> ToolCallLog:
    return ToolCallLog(
        call_id=call.id[:_ID_CHARS] if call.id else call.id,
        name=call.name[:_ID_CHARS],
        arguments=arguments,
        result_summary=content[:500],
        latency_s=0.0 if started is None else round(time.monotonic() - started, 4),
        error=error,
    )
