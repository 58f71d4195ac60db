"""The warm-up request a worker sends before it reports ready.

After a restart the first request pays for loading weights (llama.cpp) or for an empty
prefix cache (vLLM): the warm-up sends the extraction system prompt, the stable prefix of
every real request, and asks for one token, so the first document does not pay.
"""

from __future__ import annotations

import logging
import time

from pydantic import BaseModel

from agent.models.base import ChatModel, ChatRequest, Message, ModelError
from agent.prompting import system_prompt
from core import metrics, telemetry

log = logging.getLogger(__name__)


class WarmUp(BaseModel):
    ok: bool
    seconds: float
    model: str
    error: str | None = None


def warm_up(model: ChatModel, *, timeout_s: float = 120.0) -> WarmUp:
    """One short request on the extraction prefix; never raises."""
    request = ChatRequest(
        messages=[
            Message(role="system", content=system_prompt("commercial_invoice")),
            Message(role="user", content="Reply with OK."),
        ],
        max_tokens=1,
        timeout_s=timeout_s,
    )
    started = time.perf_counter()
    with telemetry.span("shipdoc.warm_up", {"gen_ai.request.model": model.name}) as span:
        try:
            with metrics.purpose("warmup"):
                model.chat(request)
        except ModelError as exc:
            telemetry.fail(span, exc)
            seconds = round(time.perf_counter() - started, 3)
            log.warning("warm-up of %s failed after %.1f s: %s", model.name, seconds, exc)
            return WarmUp(ok=False, seconds=seconds, model=model.name, error=str(exc))
    seconds = round(time.perf_counter() - started, 3)
    log.info("warm-up of %s answered in %.2f s", model.name, seconds)
    return WarmUp(ok=True, seconds=seconds, model=model.name)
