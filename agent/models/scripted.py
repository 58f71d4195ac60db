"""A scripted backend for tests: replies played in order, every request recorded.

A step is a ``ChatResponse``, a string (the reply's content), a ``ModelError`` to raise,
or a callable of the request returning any of those. Token usage of string replies is
estimated (4 characters a token) so that token bounds can be exercised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from agent.models.base import ChatRequest, ChatResponse, ModelError, OnDelta, ToolCall, Usage

Step: TypeAlias = "ChatResponse | str | ModelError | Callable[[ChatRequest], ChatResponse | str]"


class ScriptExhausted(ModelError):
    """The test asked the model more often than its script foresaw."""

    code = "script_exhausted"


def _estimate_tokens(text: str) -> int:
    return (len(text) + 3) // 4


class ScriptedModel:
    backend = "scripted"

    def __init__(self, steps: Sequence[Step], *, name: str = "scripted") -> None:
        self.name = name
        self._steps = list(steps)
        self.requests: list[ChatRequest] = []

    @classmethod
    def from_file(cls, path: Path, *, name: str = "scripted") -> ScriptedModel:
        """A script from a JSON list; each item a string or an object with ``content`` and
        ``tool_calls`` (``[{"name": ..., "arguments": {...}}]``)."""
        items: Any = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(items, list):
            raise ModelError(f"{path}: a model script must be a JSON list")
        return cls([_step_from_json(item, i) for i, item in enumerate(items)], name=name)

    @property
    def remaining(self) -> int:
        return len(self._steps) - len(self.requests)

    def chat(self, request: ChatRequest) -> ChatResponse:
        index = len(self.requests)
        self.requests.append(request)
        if index >= len(self._steps):
            raise ScriptExhausted(
                f"the script has {len(self._steps)} replies; request {index + 1} has none "
                f"(last message: {request.messages[-1].content[:200]!r})"
            )
        step = self._steps[index]
        if callable(step) and not isinstance(step, ChatResponse | ModelError):
            step = step(request)
        if isinstance(step, ModelError):
            raise step
        if isinstance(step, str):
            step = ChatResponse(content=step, model=self.name, backend=self.backend)
        if step.usage == Usage():
            step = step.model_copy(update={"usage": self._estimated_usage(request, step)})
        return step

    def stream(self, request: ChatRequest, on_delta: OnDelta) -> ChatResponse:
        """The scripted reply, handed over one word at a time."""
        response = self.chat(request)
        for piece in re.findall(r"\S+\s*|\s+", response.content):
            on_delta(piece)
        return response

    @staticmethod
    def _estimated_usage(request: ChatRequest, response: ChatResponse) -> Usage:
        prompt = "".join(m.content for m in request.messages)
        prompt += "".join(t.model_dump_json() for t in request.tools)
        completion = response.content + "".join(c.arguments_json for c in response.tool_calls)
        return Usage(
            prompt_tokens=_estimate_tokens(prompt), completion_tokens=_estimate_tokens(completion)
        )


def _step_from_json(item: Any, index: int) -> Step:
    if isinstance(item, str):
        return item
    if not isinstance(item, dict):
        raise ModelError(f"model script item {index}: expected a string or an object")
    calls = [
        ToolCall(
            id=str(call.get("id") or f"call_{index}_{n}"),
            name=str(call["name"]),
            arguments_json=json.dumps(call.get("arguments", {})),
        )
        for n, call in enumerate(item.get("tool_calls", []))
    ]
    return ChatResponse(
        content=str(item.get("content", "")),
        tool_calls=calls,
        model="scripted",
        backend="scripted",
        finish_reason="tool_calls" if calls else "stop",
    )
