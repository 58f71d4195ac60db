"""Windowed extraction: one schema-shaped request per window of pages, merged.

Most documents fit one window, so one request. A reply that does not match the schema gets
one schema-constrained repair request; a reply cut by the output token limit is never
parsed as partial JSON: the window is halved and both halves are extracted.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.metering import Metered
from agent.models.base import ChatRequest, Message, ModelOutputInvalid
from agent.models.structured import validation_errors
from agent.models.toolcall_parse import strip_code_fence
from agent.prompting import render_document, system_prompt
from agent.tables import checked_table, header_model
from agent.tools import ToolContext
from agent.windows import halve, merge, plan_windows
from core.records import DocType, values_model_for
from core.settings import AgentSettings
from tools.provenance import PageText
from tools.validate import coerce_types


def extraction_messages(
    doc_type: DocType,
    window: list[PageText],
    hints: str = "",
    candidates: str = "",
    header_only: bool = False,
) -> list[Message]:
    """The extraction request's messages: the doc type's stable system turn (prefilled once,
    agent/models/prefix_state), then this window's hints, document and tariff candidates."""
    return [
        Message(role="system", content=system_prompt(doc_type, header_only)),
        Message(role="user", content=_join(hints, render_document(window), candidates)),
    ]


def _extract_window(
    model: Metered,
    ctx: ToolContext,
    window: list[PageText],
    limits: AgentSettings,
    header_only: bool = False,
) -> list[dict[str, Any]]:
    doc_type = ctx.target.doc_type
    output_type = header_model(doc_type) if header_only else values_model_for(doc_type)
    messages = extraction_messages(doc_type, window, ctx.hints, ctx.candidates, header_only)
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
            return [
                v
                for part in smaller
                for v in _extract_window(model, ctx, part, limits, header_only)
            ]
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
    """The reply with numbers-as-text read as numbers, null tables as empty ones and words
    around the JSON object dropped: each a constrained repair request saved."""
    value = _json_object(strip_code_fence(content))
    if value is None:
        return content
    if not isinstance(value, dict):
        return content
    return json.dumps(coerce_types(ctx.target.doc_type, value, ctx.decimal))


# A number written with thousands separators outside quotes (``"amount": 370,206.88``,
# ``"amount": 1.234,56``) is not JSON; quoted, it is read with the document's separators.
_GROUPED_NUMBER = re.compile(
    r"(:\s*)(-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d{1,3}(?:\.\d{3})+(?:,\d+)?|-?\d+,\d+)(?=\s*[,}\]\n])"
)


def _json_object(text: str) -> Any:
    for candidate in (text, _GROUPED_NUMBER.sub(r'\1"\2"', text)):
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    text = _GROUPED_NUMBER.sub(r'\1"\2"', text)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        return json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        return None


def _join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def extract_values(model: Metered, ctx: ToolContext, limits: AgentSettings) -> dict[str, Any]:
    """The record of the page group: one request per window, merged."""
    table = checked_table(ctx.pages, ctx.target.doc_type) if limits.table_reader else None
    header_only = table is not None
    windows = plan_windows(ctx.pages, limits.window_tokens)
    parts = [
        v for window in windows for v in _extract_window(model, ctx, window, limits, header_only)
    ]
    if table is not None:
        parts = [*parts, {"line_items": table.line_items()}]
    return merge(parts) if len(parts) > 1 else parts[0]
