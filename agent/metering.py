"""Metering and bounds: every model request of a run goes through ``Metered``.

``Metered`` wraps a ``ChatModel``, refuses a request once a bound of the run (requests,
tokens, wall time) is reached by raising ``BoundHit``, caps each request's timeout by the
run's remaining time, and adds up tokens and cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.models.base import ChatModel, ChatRequest, ChatResponse, ModelTimeout, Usage
from core import progress
from core.settings import AgentSettings


class BoundHit(Exception):
    """A bound of the run was reached; the message says which."""


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
    # Requests the fallback answered, their cost, and the primary's failed attempts' cost.
    fallback_requests: int = 0
    fallback_cost: float | None = None
    failed_primary_cost: float | None = None

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
        progress.note(f"model request {self.requests}")
        try:
            response = self.inner.chat(request)
        except ModelTimeout as exc:
            if shortened:
                raise BoundHit(f"wall time limit of {self.limits.max_seconds:g} s reached") from exc
            raise
        self.usage = self.usage + response.usage
        if response.cost_usd is not None:
            self.cost = (self.cost or 0.0) + response.cost_usd
        if response.fallback_from is not None:
            self.fallback_requests += 1
            if response.cost_usd is not None:
                self.fallback_cost = (self.fallback_cost or 0.0) + response.cost_usd
        if response.failed_cost_usd is not None:
            self.failed_primary_cost = (self.failed_primary_cost or 0.0) + response.failed_cost_usd
        return response
