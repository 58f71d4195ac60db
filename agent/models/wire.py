"""The OpenAI chat wire format, shared by the HTTP and in-process llama.cpp backends."""

from __future__ import annotations

import json
from typing import Any

from agent.models.base import ChatRequest, Message, ToolCall, ToolSpec
from agent.models.schema import StructuredMode, schema_for
from agent.models.toolcall_parse import parse_tool_calls


def _arguments(call: ToolCall, as_object: bool) -> Any:
    if not as_object:
        return call.arguments_json or "{}"
    try:
        return call.arguments()
    except ValueError:
        return call.arguments_json


def message_to_wire(message: Message, *, arguments_as_object: bool = False) -> dict[str, Any]:
    """One message. Assistant tool-call messages carry ``content: ""``, never null
    (llama.cpp's server rejects the tool result otherwise). ``arguments_as_object`` hands
    the arguments to a chat template as an object rather than a JSON string.
    """
    wire: dict[str, Any] = {"role": message.role, "content": message.content or ""}
    if message.role == "assistant" and message.tool_calls:
        wire["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": _arguments(call, arguments_as_object),
                },
            }
            for call in message.tool_calls
        ]
    if message.role == "tool":
        wire["tool_call_id"] = message.tool_call_id or ""
    return wire


def messages_to_wire(
    messages: list[Message], *, arguments_as_object: bool = False
) -> list[dict[str, Any]]:
    return [message_to_wire(m, arguments_as_object=arguments_as_object) for m in messages]


def tools_to_wire(tools: list[ToolSpec], mode: StructuredMode) -> list[dict[str, Any]]:
    """Tool definitions; parameter schemas are stripped like output schemas for llama.cpp."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": schema_for(mode, tool.parameters),
            },
        }
        for tool in tools
    ]


def tool_choice_to_wire(request: ChatRequest) -> str | dict[str, Any]:
    """``auto`` / ``none`` / ``required`` as they are; a tool's name as the named form."""
    if request.tool_choice in ("auto", "none", "required"):
        return request.tool_choice
    return {"type": "function", "function": {"name": request.tool_choice}}


def wire_tool_calls(raw: list[Any] | None) -> list[ToolCall]:
    """``tool_calls`` of a reply, given as dicts (llama.cpp in process)."""
    calls: list[ToolCall] = []
    for index, item in enumerate(raw or []):
        function = item.get("function") or {}
        arguments = function.get("arguments", "{}")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        calls.append(
            ToolCall(
                id=item.get("id") or f"call_{index}",
                name=function.get("name", ""),
                arguments_json=arguments,
            )
        )
    return calls


def content_and_calls(
    request: ChatRequest, content: str, calls: list[ToolCall]
) -> tuple[str, list[ToolCall], list[str]]:
    """The reply's text and tool calls, recovering calls written into the text.

    Only when tools were offered and allowed, no structured output was asked for, and the
    reply has no proper ``tool_calls``. Returns (text, calls, parse errors).
    """
    offered = bool(request.tools) and request.tool_choice != "none"
    if calls or not offered or request.json_schema is not None or not content:
        return content, calls, []
    parsed = parse_tool_calls(content)
    return parsed.text, parsed.tool_calls, parsed.errors
