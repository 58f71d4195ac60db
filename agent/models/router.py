"""Routing: bounded retries, a circuit breaker on the primary, a fallback, and cost.

A thin layer over the backends and tenacity. Transient failures of the primary
(``ModelUnavailable``, ``ModelTimeout``) are retried with exponential backoff; when they
persist, or the breaker is open, the request goes to the fallback (the hosted model is
kept for that). Every response carries ``cost_usd`` when prices are configured for the
model that answered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from agent.models.base import (
    ChatModel,
    ChatRequest,
    ChatResponse,
    ModelError,
    ModelUnavailable,
    OnDelta,
    Usage,
    stream_chat,
)
from agent.models.tracing import TracedModel, count_cost, purpose_of
from core import metrics


class CircuitOpen(ModelUnavailable):
    """The primary failed too often recently; it is not asked until the breaker resets."""

    code = "model_circuit_open"


@dataclass(frozen=True)
class Price:
    """USD per one million tokens."""

    prompt_per_m: float
    completion_per_m: float

    def cost(self, usage: Usage) -> float:
        return (
            usage.prompt_tokens * self.prompt_per_m
            + usage.completion_tokens * self.completion_per_m
        ) / 1_000_000


BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Opens after ``failures`` consecutive transient failures, for ``reset_s`` seconds;
    then lets one trial request through (half open): success closes it, failure reopens."""

    def __init__(
        self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = max(1, failures)
        self.reset_s = reset_s
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half_open" and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._consecutive = 0
            self._opened_at = None
            self._trial_running = False

    def release(self) -> None:
        """The trial request ended without telling whether the server is healthy (our own
        error, a request the server refused): the next request may try again."""
        with self._lock:
            self._trial_running = False

    def record_failure(self) -> None:
        with self._lock:
            self._consecutive += 1
            if self._trial_running or self._consecutive >= self.failures:
                self._opened_at = self._clock()
            self._trial_running = False


@dataclass
class Route:
    model: ChatModel
    price: Price | None = None
    # Retries after the first attempt, for transient failures only.
    retries: int = 2


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ModelError) and exc.transient and not isinstance(exc, CircuitOpen)


def _failed_cost(price: Price | None, request: ChatRequest, attempts: int) -> float | None:
    """What the primary's failed attempts cost: their prompt tokens (estimated), no output."""
    if price is None or attempts == 0:
        return None if price is None else 0.0
    chars = sum(len(m.content) for m in request.messages)
    return attempts * price.cost(Usage(prompt_tokens=(chars + 3) // 4))


class RoutedModel:
    """A ``ChatModel`` over a primary and an optional fallback."""

    backend = "router"
    # Each attempt on the primary and the fallback is traced and counted on its own.
    traced = True

    def __init__(
        self,
        primary: Route,
        fallback: Route | None = None,
        *,
        backoff_s: float = 0.5,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.model.name
        self.backoff_s = backoff_s
        self.breaker = breaker or CircuitBreaker(failures=5, reset_s=30.0)
        self._sleep = sleep
        self._traced = {id(r): TracedModel(r.model) for r in (primary, fallback) if r is not None}

    def chat(self, request: ChatRequest) -> ChatResponse:
        reached = [0]
        try:
            return self._call(self.primary, request, self.breaker, reached)
        except ModelError as exc:
            if not exc.transient or self.fallback is None:
                raise
            metrics.FALLBACKS.labels(self.primary.model.name, self.fallback.model.name).inc()
            try:
                response = self._call(self.fallback, request, None)
                failed = _failed_cost(self.primary.price, request, reached[0])
                return response.model_copy(
                    update={"fallback_from": self.primary.model.name, "failed_cost_usd": failed}
                )
            except ModelError as fallback_exc:
                raise type(fallback_exc)(
                    f"{fallback_exc.message} (fallback, after the primary failed: {exc.message})"
                ) from fallback_exc

    def stream(self, request: ChatRequest, on_delta: OnDelta) -> ChatResponse:
        """Streamed from the primary; the fallback takes over only if no text was sent yet.

        No retries: a person is waiting, and a retried stream would repeat its text.
        """
        sent = False

        def relay(text: str) -> None:
            nonlocal sent
            sent = True
            on_delta(text)

        try:
            return self._stream(self.primary, request, relay, self.breaker)
        except ModelError as exc:
            if sent or not exc.transient or self.fallback is None:
                raise
            return self._stream(self.fallback, request, relay, None)

    def _stream(
        self,
        route: Route,
        request: ChatRequest,
        on_delta: OnDelta,
        breaker: CircuitBreaker | None,
    ) -> ChatResponse:
        if breaker is not None and not breaker.allow():
            raise CircuitOpen(
                f"{route.model.name}: circuit open after repeated failures; "
                f"retrying in at most {breaker.reset_s:g} s"
            )
        try:
            response = stream_chat(route.model, request, on_delta)
        except ModelError as exc:
            if breaker is not None and exc.transient:
                breaker.record_failure()
            raise
        if breaker is not None:
            breaker.record_success()
        if route.price is None:
            return response
        return response.model_copy(update={"cost_usd": route.price.cost(response.usage)})

    def _call(
        self,
        route: Route,
        request: ChatRequest,
        breaker: CircuitBreaker | None,
        reached: list[int] | None = None,
    ) -> ChatResponse:
        model = self._traced.get(id(route)) or TracedModel(route.model)

        def attempt() -> ChatResponse:
            if breaker is not None and not breaker.allow():
                raise CircuitOpen(
                    f"{route.model.name}: circuit open after repeated failures; "
                    f"retrying in at most {breaker.reset_s:g} s"
                )
            try:
                if reached is not None:
                    reached[0] += 1
                response = model.chat(request)
            except ModelError as exc:
                if breaker is not None:
                    # A non-transient error is an answer: the server is up.
                    (breaker.record_failure if exc.transient else breaker.record_success)()
                raise
            except BaseException:
                if breaker is not None:
                    breaker.release()
                raise
            if breaker is not None:
                breaker.record_success()
            return response

        retrying = Retrying(
            stop=stop_after_attempt(route.retries + 1),
            wait=wait_exponential(multiplier=self.backoff_s, max=self.backoff_s * 16),
            retry=retry_if_exception(_retryable),
            sleep=self._sleep,
            reraise=True,
        )
        response = retrying(attempt)
        if route.price is None:
            return response
        cost = route.price.cost(response.usage)
        count_cost(route.model.name, purpose_of(request), cost)
        return response.model_copy(update={"cost_usd": cost})
