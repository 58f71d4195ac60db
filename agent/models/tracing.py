"""A span and the metrics for every model request, after the GenAI semantic conventions.

``TracedModel`` wraps one backend: each ``chat`` is one ``chat {model}`` client span with
``gen_ai.operation.name``, ``gen_ai.request.model``, ``gen_ai.response.model``,
``gen_ai.usage.input_tokens`` / ``output_tokens`` and ``gen_ai.response.finish_reasons``;
the messages only when content capture is on. The same call counts requests, tokens, cost
and latency by model and purpose.
"""

from __future__ import annotations

import json

from opentelemetry.trace import SpanKind

from agent.models.base import ChatModel, ChatRequest, ChatResponse, ModelError
from core import metrics, telemetry


def purpose_of(request: ChatRequest) -> str:
    return "repair" if request.tools else metrics.current_purpose()


class TracedModel:
    """A ``ChatModel`` that traces and counts the requests of ``inner``."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.name = inner.name
        self.backend = str(getattr(inner, "backend", "unknown"))

    def chat(self, request: ChatRequest) -> ChatResponse:
        purpose = purpose_of(request)
        attributes: dict[str, telemetry.AttrValue | None] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": self.backend,
            "gen_ai.request.model": self.name,
            "gen_ai.request.max_tokens": request.max_tokens,
            "gen_ai.request.temperature": request.temperature,
            "shipdoc.model.purpose": purpose,
        }
        if telemetry.capture_content():
            attributes["gen_ai.input.messages"] = json.dumps(
                [m.model_dump(exclude_defaults=True) for m in request.messages]
            )
        with telemetry.span(f"chat {self.name}", attributes, kind=SpanKind.CLIENT) as span:
            try:
                response = self.inner.chat(request)
            except ModelError as exc:
                telemetry.fail(span, exc)
                span.set_attribute("error.type", exc.code)
                metrics.MODEL_REQUESTS.labels(self.name, purpose, exc.code).inc()
                raise
            span.set_attribute("gen_ai.response.model", response.model)
            span.set_attribute("gen_ai.usage.input_tokens", response.usage.prompt_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", response.usage.completion_tokens)
            span.set_attribute("gen_ai.response.finish_reasons", [response.finish_reason or ""])
            if response.tool_calls:
                span.set_attribute("shipdoc.model.tool_calls", len(response.tool_calls))
            if telemetry.capture_content():
                span.set_attribute("gen_ai.output.messages", response.content)
        _count(self.name, purpose, response)
        return response


def _count(model: str, purpose: str, response: ChatResponse) -> None:
    metrics.MODEL_REQUESTS.labels(model, purpose, "ok").inc()
    metrics.MODEL_TOKENS.labels(model, purpose, "input").inc(response.usage.prompt_tokens)
    metrics.MODEL_TOKENS.labels(model, purpose, "output").inc(response.usage.completion_tokens)
    metrics.MODEL_SECONDS.labels(model, purpose).observe(response.latency_s)


def count_cost(model: str, purpose: str, cost_usd: float | None) -> None:
    if cost_usd:
        metrics.MODEL_COST.labels(model, purpose).inc(cost_usd)


def traced(model: ChatModel) -> ChatModel:
    """``model`` with its requests traced, unless they already are (the router traces each
    attempt of its primary and fallback itself)."""
    if isinstance(model, TracedModel) or getattr(model, "traced", False):
        return model
    return TracedModel(model)
