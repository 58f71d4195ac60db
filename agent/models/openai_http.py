"""Backend for any OpenAI-compatible chat server: vLLM, llama.cpp's server, Ollama, OpenAI.

Retries are the router's job, so the SDK's own are off (``max_retries=0``); each request
carries its own timeout.
"""

from __future__ import annotations

import time
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from agent.models.base import (
    ChatRequest,
    ChatResponse,
    ModelError,
    ModelTimeout,
    ModelUnavailable,
    OnDelta,
    ToolCall,
    Usage,
)
from agent.models.schema import StructuredMode, response_format
from agent.models.wire import (
    content_and_calls,
    messages_to_wire,
    tool_choice_to_wire,
    tools_to_wire,
)


class OpenAIChatModel:
    """One model on one OpenAI-compatible server."""

    backend = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "not-needed",
        structured_output: StructuredMode = "json_schema",
        timeout_s: float = 120.0,
    ) -> None:
        self.name = model
        self.base_url = base_url
        self.structured_output: StructuredMode = structured_output
        self._client = openai.OpenAI(
            base_url=base_url or None,
            api_key=api_key,
            timeout=timeout_s,
            max_retries=0,
        )

    def close(self) -> None:
        self._client.close()

    def request_body(self, request: ChatRequest) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for ``request``."""
        body: dict[str, Any] = {
            "model": self.name,
            "messages": messages_to_wire(request.messages),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.tools:
            body["tools"] = tools_to_wire(request.tools, self.structured_output)
            body["tool_choice"] = tool_choice_to_wire(request)
        if request.json_schema is not None:
            body["response_format"] = response_format(
                self.structured_output, request.json_schema, request.json_schema_name
            )
        return body

    def chat(self, request: ChatRequest) -> ChatResponse:
        body = self.request_body(request)
        started = time.monotonic()
        try:
            completion = self._client.chat.completions.create(
                **body, timeout=request.timeout_s, stream=False
            )
        except openai.OpenAIError as exc:
            raise self._error(exc, request) from exc
        return self._response(request, completion, time.monotonic() - started)

    def stream(self, request: ChatRequest, on_delta: OnDelta) -> ChatResponse:
        """A plain-text answer streamed token by token (``stream=True`` on the wire)."""
        body = self.request_body(request)
        started = time.monotonic()
        first: float | None = None
        parts: list[str] = []
        usage = Usage()
        finish: str | None = None
        try:
            chunks = self._client.chat.completions.create(
                **body,
                timeout=request.timeout_s,
                stream=True,
                stream_options={"include_usage": True},
            )
            for chunk in chunks:
                # the SDK's timeout bounds each read, not the answer: a server that keeps
                # sending a token now and then would hold the request (and a worker) for
                # max_tokens reads
                if time.monotonic() - started > request.timeout_s:
                    chunks.close()
                    raise ModelTimeout(
                        f"{self.name} at {self.base_url}: answer not finished within "
                        f"{request.timeout_s:g} s"
                    )
                if chunk.usage is not None:
                    usage = Usage(
                        prompt_tokens=chunk.usage.prompt_tokens,
                        completion_tokens=chunk.usage.completion_tokens,
                    )
                for choice in chunk.choices:
                    text = choice.delta.content or ""
                    if text:
                        first = first if first is not None else time.monotonic() - started
                        parts.append(text)
                        on_delta(text)
                    finish = choice.finish_reason or finish
        except openai.OpenAIError as exc:
            raise self._error(exc, request) from exc
        return ChatResponse(
            content="".join(parts),
            usage=usage,
            model=self.name,
            backend=self.backend,
            latency_s=time.monotonic() - started,
            finish_reason=finish,
            first_token_s=first,
        )

    def _error(self, exc: openai.OpenAIError, request: ChatRequest) -> ModelError:
        if isinstance(exc, openai.APITimeoutError):
            return ModelTimeout(
                f"{self.name} at {self.base_url}: no answer within {request.timeout_s:g} s"
            )
        if isinstance(exc, openai.APIConnectionError):
            return ModelUnavailable(f"{self.name} at {self.base_url}: {exc}")
        if isinstance(exc, openai.APIStatusError):
            return _status_error(self.name, exc)
        return ModelError(f"{self.name} at {self.base_url}: {exc}")

    def _response(
        self, request: ChatRequest, completion: ChatCompletion, latency_s: float
    ) -> ChatResponse:
        if not completion.choices:
            raise ModelError(f"{self.name}: the server returned no choices")
        choice = completion.choices[0]
        calls = [
            ToolCall(id=c.id, name=c.function.name, arguments_json=c.function.arguments or "{}")
            for c in choice.message.tool_calls or []
            if c.type == "function"
        ]
        content, calls, errors = content_and_calls(request, choice.message.content or "", calls)
        usage = completion.usage
        return ChatResponse(
            content=content,
            tool_calls=calls,
            tool_call_errors=errors,
            usage=Usage(
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
            ),
            model=self.name,
            backend=self.backend,
            latency_s=latency_s,
            finish_reason=choice.finish_reason,
        )


def _status_error(name: str, exc: openai.APIStatusError) -> ModelError:
    """5xx and 429 (overloaded, rate-limited) may pass: transient. Other 4xx are our bug."""
    detail = f"{name}: HTTP {exc.status_code}: {exc.message}"
    if exc.status_code >= 500 or exc.status_code == 429:
        return ModelUnavailable(detail)
    return ModelError(detail)
