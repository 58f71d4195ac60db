"""Tool calls that a model wrote into its text instead of the ``tool_calls`` field.

Small models on llama.cpp with ``tool_choice="auto"`` (and vLLM when its hermes parser
fails) answer with ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks or
with a bare JSON object ``{"name": ..., "arguments": ...}`` in ``content``. These pure
functions recover such calls; what cannot be parsed stays in the text, with a reason, so
the caller can tell the model what was wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from agent.models.base import ToolCall

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?```$", re.DOTALL)
_CALL_KEYS = {"name", "arguments", "parameters", "id", "type"}


@dataclass
class ParsedContent:
    """The text left once tool calls are taken out, the calls, and what failed to parse."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def strip_code_fence(text: str) -> str:
    """``` ```json\\n{...}\\n``` ``` -> ``{...}``; any other text is returned stripped."""
    stripped = text.strip()
    match = _FENCE.match(stripped)
    return match.group(1).strip() if match else stripped


def _call_from_object(obj: Any, index: int) -> ToolCall | None:
    """A tool call from one decoded JSON value, or None when it does not look like one."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict) and obj.get("type", "function") == "function":
        inner = dict(obj["function"])
        if "id" in obj:
            inner["id"] = obj["id"]
        obj = inner
    name = obj.get("name")
    if not isinstance(name, str) or not name or not set(obj) <= _CALL_KEYS:
        return None
    args: Any = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            decoded = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            return None
        args = decoded
    if not isinstance(args, dict):
        return None
    call_id = obj.get("id")
    if not isinstance(call_id, str) or not call_id:
        call_id = f"call_{index}"
    return ToolCall(id=call_id, name=name, arguments_json=json.dumps(args, ensure_ascii=False))


def _decode_all(text: str) -> list[Any] | None:
    """Every JSON value in ``text`` (one after another, whitespace between), or None."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos] in " \t\r\n,;":
            pos += 1
        if pos >= len(text):
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return None
        values.append(value)
    return values


def _calls_from_values(values: list[Any], first_index: int) -> list[ToolCall] | None:
    """All values as tool calls (a list value is spread), or None if any is not one."""
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    calls: list[ToolCall] = []
    for offset, value in enumerate(flat):
        call = _call_from_object(value, first_index + offset)
        if call is None:
            return None
        calls.append(call)
    return calls or None


def _parse_tagged(content: str) -> ParsedContent:
    calls: list[ToolCall] = []
    errors: list[str] = []
    kept: list[str] = []
    last = 0
    for match in _TAGGED.finditer(content):
        kept.append(content[last : match.start()])
        last = match.end()
        body = strip_code_fence(match.group(1))
        values = _decode_all(body)
        found = _calls_from_values(values, len(calls)) if values else None
        if found is None:
            errors.append(f"could not parse tool call: {body[:200]!r}")
            kept.append(match.group(0))
        else:
            calls.extend(found)
    kept.append(content[last:])
    return ParsedContent(text="".join(kept).strip(), tool_calls=calls, errors=errors)


def parse_tool_calls(content: str) -> ParsedContent:
    """Recover tool calls written into a reply's text.

    ``<tool_call>`` blocks are always taken as calls (a block that does not parse is kept in
    the text and reported in ``errors``). Otherwise the whole text, bare or in a code fence,
    is taken as calls only when every JSON value in it has the shape
    ``{"name": str, "arguments": object | JSON string}`` (``parameters`` is accepted for
    ``arguments``, and the OpenAI ``{"type": "function", "function": {...}}`` wrapper too),
    so a structured record is never mistaken for a call.
    """
    if "<tool_call>" in content:
        return _parse_tagged(content)
    body = strip_code_fence(content)
    if not body.startswith(("{", "[")):
        return ParsedContent(text=content)
    values = _decode_all(body)
    calls = _calls_from_values(values, 0) if values else None
    if calls is None:
        return ParsedContent(text=content)
    return ParsedContent(text="", tool_calls=calls)
