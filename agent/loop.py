"""One bounded extraction run over one page group.

1. Extract: one schema-constrained request per window (most documents: one request), with
   a bounded repair request when the reply is not valid JSON and a split when the output
   token limit cut it.
2. Validate deterministically. A clean record is written back at once.
3. Repair: otherwise the model gets the issues and the tools (``lookup_tariff``,
   ``validate_record``, ``get_page``, ``write_back``) and loops until it calls
   ``write_back`` or a bound (requests, tokens, wall time, bad tool calls) is hit. A bound
   hit writes the best record so far as ``needs_review`` with the reason.

Transient model failures (``ModelUnavailable``, ``ModelTimeout``) propagate so that the
caller can retry the document; every other ending is a recorded outcome.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.models.base import (
    ChatModel,
    ChatRequest,
    ChatResponse,
    Message,
    ModelError,
    ModelOutputInvalid,
    ModelTimeout,
    ToolCall,
    Usage,
)
from agent.models.structured import validation_errors
from agent.models.toolcall_parse import strip_code_fence
from agent.prompting import record_json, render_document, render_issues, system_prompt
from agent.tools import ToolContext, execute, tool_specs
from agent.windows import estimate_tokens, halve, merge, plan_windows
from core.db import session_scope
from core.models import RecordStatus
from core.records import values_model_for
from core.settings import AgentSettings
from tools.provenance import PageText
from tools.validate import Issue, add_printed_containers, coerce_types, normalize, validate
from tools.writeback import ToolCallLog, write_failed

Outcome = Literal["extracted", "needs_review", "failed"]


class BoundHit(Exception):
    """A bound of the run was reached; the message says which."""


class RunResult(BaseModel):
    outcome: Outcome
    reason: str | None = None
    record_id: int | None = None
    values: dict[str, Any] | None = None
    issues: list[Issue] = Field(default_factory=list)
    requests: int = 0
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    cost: float | None = None
    tool_calls: list[ToolCallLog] = Field(default_factory=list)


@dataclass
class Metered:
    """A ``ChatModel`` that enforces the run's bounds and accounts every response."""

    inner: ChatModel
    limits: AgentSettings
    clock: Callable[[], float] = time.monotonic
    # Each request's own limit (the model settings' timeout), capped by the run's remaining time.
    request_timeout_s: float = 120.0
    started: float = -1.0
    requests: int = 0
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    @property
    def name(self) -> str:
        return self.inner.name

    def elapsed_s(self) -> float:
        return self.clock() - self.started

    def remaining_s(self) -> float:
        return self.limits.max_seconds - self.elapsed_s()

    def check(self) -> None:
        if self.requests >= self.limits.max_requests:
            raise BoundHit(f"request limit of {self.limits.max_requests} reached")
        spent = self.usage.prompt_tokens + self.usage.completion_tokens
        if spent >= self.limits.max_tokens:
            raise BoundHit(f"token limit of {self.limits.max_tokens} reached ({spent} used)")
        if self.remaining_s() <= 0:
            raise BoundHit(f"wall time limit of {self.limits.max_seconds:g} s reached")

    def chat(self, request: ChatRequest) -> ChatResponse:
        self.check()
        remaining = self.remaining_s()
        shortened = remaining < self.request_timeout_s
        timeout = remaining if shortened else self.request_timeout_s
        request = request.model_copy(update={"timeout_s": timeout})
        self.requests += 1
        try:
            response = self.inner.chat(request)
        except ModelTimeout as exc:
            if shortened:
                raise BoundHit(f"wall time limit of {self.limits.max_seconds:g} s reached") from exc
            raise
        self.usage = self.usage + response.usage
        if response.cost_usd is not None:
            self.cost = (self.cost or 0.0) + response.cost_usd
        return response


def _extract_window(
    model: Metered, ctx: ToolContext, window: list[PageText], limits: AgentSettings
) -> list[dict[str, Any]]:
    output_type = values_model_for(ctx.target.doc_type)
    messages = [
        Message(role="system", content=system_prompt(ctx.target.doc_type)),
        Message(role="user", content=_join(render_document(window), ctx.candidates)),
    ]
    request = ChatRequest(
        messages=messages,
        json_schema=output_type.model_json_schema() if limits.constrained_output else None,
        json_schema_name=output_type.__name__,
        max_tokens=limits.output_tokens,
    )
    response = model.chat(request)
    if response.finish_reason == "length":
        smaller = halve(window)
        if smaller is not None:
            return [v for part in smaller for v in _extract_window(model, ctx, part, limits)]
    content = _coerced(ctx, response.content)
    errors = validation_errors(content, output_type)
    if errors:
        repair = Message(
            role="user",
            content="Your reply did not match the schema:\n"
            + "\n".join(f"- {e}" for e in errors)
            + "\nReply again with only the corrected JSON object.",
        )
        messages = [*messages, Message(role="assistant", content=response.content), repair]
        # The repair is always schema-constrained: a model that wrote broken JSON once tends
        # to write the same again, and one constrained request is cheaper than a failure.
        constrained = {"messages": messages, "json_schema": output_type.model_json_schema()}
        response = model.chat(request.model_copy(update=constrained))
        content = _coerced(ctx, response.content)
        errors = validation_errors(content, output_type)
        if errors:
            raise ModelOutputInvalid(f"{model.name}: output did not validate: {errors[:3]}")
    values = output_type.model_validate_json(strip_code_fence(content))
    return [values.model_dump()]


def _coerced(ctx: ToolContext, content: str) -> str:
    """The reply with numbers-as-text read as numbers (a repair request saved)."""
    try:
        value = json.loads(strip_code_fence(content))
    except json.JSONDecodeError:
        return content
    if not isinstance(value, dict):
        return content
    return json.dumps(coerce_types(ctx.target.doc_type, value))


def _join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def extract_values(model: Metered, ctx: ToolContext, limits: AgentSettings) -> dict[str, Any]:
    """The record of the page group: one request per window, merged."""
    windows = plan_windows(ctx.pages, limits.window_tokens)
    parts = [v for window in windows for v in _extract_window(model, ctx, window, limits)]
    return merge(parts) if len(parts) > 1 else parts[0]


@dataclass
class _Repair:
    model: Metered
    ctx: ToolContext
    limits: AgentSettings
    logs: list[ToolCallLog]
    tool_errors: int = 0

    def run(self, values: dict[str, Any], issues: list[Issue]) -> None:
        """Loop until the model calls write_back; raises BoundHit when a bound is reached."""
        doc = render_document(self.ctx.pages)
        if estimate_tokens(doc) > self.limits.window_tokens:
            first, last = self.ctx.target.page_first, self.ctx.target.page_last
            doc = f"The document has pages {first} to {last}; read them with get_page."
        messages = [
            Message(role="system", content=system_prompt(self.ctx.target.doc_type)),
            Message(role="user", content=doc),
            Message(role="assistant", content=record_json(values)),
            Message(role="user", content=render_issues(issues)),
        ]
        while self.ctx.written is None:
            response = self.model.chat(
                ChatRequest(
                    messages=messages,
                    tools=tool_specs(),
                    tool_choice="auto",
                    max_tokens=self.limits.output_tokens,
                )
            )
            messages += self._answer(response)

    def _answer(self, response: ChatResponse) -> list[Message]:
        calls = list(response.tool_calls)
        if not calls:
            record = _as_record(response.content)
            if record is None:
                self._bad("reply had no tool call and no record")
                return [
                    Message(role="assistant", content=response.content),
                    Message(role="user", content="Call write_back with the complete record."),
                ]
            calls = [_pipeline_call("write_back", {"record": record}, len(self.logs))]
        out = [Message(role="assistant", content=response.content, tool_calls=calls)]
        for call in calls:
            content, log = execute(self.ctx, call)
            self.logs.append(log)
            if log.error is not None:
                self._bad(log.error)
            out.append(Message(role="tool", content=content, tool_call_id=call.id, name=call.name))
            if self.ctx.written is not None:
                break
        return out

    def _bad(self, what: str) -> None:
        self.tool_errors += 1
        if self.tool_errors > self.limits.max_tool_errors:
            raise BoundHit(f"more than {self.limits.max_tool_errors} bad tool calls ({what})")


def _as_record(content: str) -> dict[str, Any] | None:
    try:
        value = json.loads(strip_code_fence(content))
    except json.JSONDecodeError:
        return None
    if isinstance(value, dict) and isinstance(value.get("record"), dict):
        record: dict[str, Any] = value["record"]
        return record
    return value if isinstance(value, dict) and "name" not in value else None


def _pipeline_call(name: str, arguments: dict[str, Any], seq: int) -> ToolCall:
    return ToolCall(id=f"pipeline-{seq}", name=name, arguments_json=json.dumps(arguments))


def _write(ctx: ToolContext, record: dict[str, Any], logs: list[ToolCallLog]) -> None:
    _content, log = execute(ctx, _pipeline_call("write_back", {"record": record}, len(logs)))
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
    values: dict[str, Any] | None = None
    try:
        values = extract_values(metered, ctx, limits)
        if ctx.target.doc_type == "bill_of_lading":
            values = add_printed_containers(values, "\n".join(p.text for p in ctx.pages))
        normalized = normalize(ctx.target.doc_type, values)
        issues = validate(ctx.target.doc_type, normalized, hs_exists=ctx.hs_exists()).errors
        if issues and limits.repair:
            ctx.base_record = values
            _Repair(metered, ctx, limits, logs).run(values, issues)
        else:
            _write(ctx, values, logs)
    except BoundHit as exc:
        reason = str(exc)
        if ctx.written is None:
            ctx.extra_issues.append(Issue(code="bound", field="", message=reason))
            _write(ctx, ctx.last_record or values or {}, logs)
    except ModelError as exc:
        if exc.transient:
            raise
        reason = str(exc)
    return _result(ctx, metered, logs, reason)


def _result(
    ctx: ToolContext, metered: Metered, logs: list[ToolCallLog], reason: str | None
) -> RunResult:
    common: dict[str, Any] = {
        "requests": metered.requests,
        "usage": metered.usage,
        "latency_s": round(metered.elapsed_s(), 3),
        "cost": metered.cost,
        "tool_calls": logs,
    }
    if ctx.written is None:
        failure = Issue(code="extraction_failed", field="", message=reason or "no record")
        with session_scope(ctx.database_url) as session:
            record_id = write_failed(session, ctx.target, [failure])
        return RunResult(
            outcome="failed", reason=reason, record_id=record_id, issues=[failure], **common
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
