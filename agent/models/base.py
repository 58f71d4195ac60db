"""The one interface every model backend implements (OpenAI-compatible HTTP, in-process
llama.cpp, scripted for tests). Messages follow the OpenAI chat shape so that the loop
is backend-agnostic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from core.errors import ShipdocError


class ToolCall(BaseModel):
    id: str
    name: str
    arguments_json: str = "{}"

    def arguments(self) -> dict[str, Any]:
        """The parsed arguments; raises ValueError when the model wrote something else."""
        value = json.loads(self.arguments_json) if self.arguments_json.strip() else {}
        if not isinstance(value, dict):
            raise ValueError("tool arguments must be a JSON object")
        return value


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None


class ToolSpec(BaseModel):
    name: str
    description: str
    parameters: dict[str, Any] = Field(description="JSON schema of the arguments object")


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Of ``prompt_tokens``, those served from a prefix cache instead of being prefilled
    # (llama.cpp in process; OpenAI's ``prompt_tokens_details.cached_tokens``).
    cached_prompt_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_prompt_tokens=self.cached_prompt_tokens + other.cached_prompt_tokens,
        )


class ChatRequest(BaseModel):
    messages: list[Message]
    tools: list[ToolSpec] = Field(default_factory=list)
    # "auto" | "none" | "required" | the name of one tool to force.
    tool_choice: str = "auto"
    # When set, the reply's content must be JSON matching this schema.
    json_schema: dict[str, Any] | None = None
    json_schema_name: str = "output"
    max_tokens: int = 1024
    temperature: float = 0.0
    timeout_s: float = 120.0


class ChatResponse(BaseModel):
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    model: str
    backend: str
    latency_s: float = 0.0
    finish_reason: str | None = None
    # USD for this request when prices are configured for the model that answered.
    cost_usd: float | None = None
    # Set by the router when the fallback answered: the primary model that failed first,
    # and what its failed attempts cost (the prompt tokens sent, estimated at 4 characters
    # a token, at the primary's prompt price; None without a price).
    fallback_from: str | None = None
    failed_cost_usd: float | None = None
    # Tool calls written into the text that could not be parsed (kept in ``content``).
    tool_call_errors: list[str] = Field(default_factory=list)
    # Streamed requests: seconds from sending the request to the first text delta.
    first_token_s: float | None = None


# Receives each piece of answer text as the model produces it (``stream_chat``).
OnDelta = Callable[[str], None]


@runtime_checkable
class ChatModel(Protocol):
    """A backend. ``name`` identifies the model for records, costs and traces."""

    name: str

    def chat(self, request: ChatRequest) -> ChatResponse: ...


class ModelError(ShipdocError):
    """A model backend failed. ``transient`` errors may succeed on retry or on a fallback."""

    code = "model_error"
    transient = False


class ModelTimeout(ModelError):
    code = "model_timeout"
    transient = True


class ModelUnavailable(ModelError):
    """Connection refused, 5xx, or an open circuit breaker."""

    code = "model_unavailable"
    transient = True


class ModelOutputInvalid(ModelError):
    """The model's output did not validate, also after the bounded repair request."""

    code = "model_output_invalid"

    def __init__(self, message: str, *, responses: list[ChatResponse] | None = None) -> None:
        super().__init__(message)
        # Every response spent on the attempt, so that its tokens are still accounted.
        self.responses: list[ChatResponse] = list(responses or [])


def stream_chat(model: ChatModel, request: ChatRequest, on_delta: OnDelta) -> ChatResponse:
    """A plain-text answer streamed: ``on_delta`` gets the text as the backend produces it.

    Backends with a ``stream`` method stream for real (OpenAI-compatible servers,
    llama.cpp in process, the router over them); any other gets the whole answer as one
    delta. Tool calls are not streamed: use ``chat`` for requests with tools.
    """
    stream = getattr(model, "stream", None)
    if stream is not None:
        response: ChatResponse = stream(request, on_delta)
        return response
    response = model.chat(request)
    if response.content:
        on_delta(response.content)
    return response
