"""The ``interactive`` queue's chat task: answer a question (agent/chat.py) and relay its
events to a stream (workers/streams.py) that the HTTP request turns into SSE.

Every outcome ends the stream with ``done`` or ``error``.
"""

from __future__ import annotations

import logging

from agent.chat import ChatQuestion, answer_question
from core.errors import ShipdocError
from core.settings import Settings
from workers.streams import Streams

log = logging.getLogger(__name__)


class ChatJob(ChatQuestion):
    stream_id: str


def run_chat(job: ChatJob, *, settings: Settings, streams: Streams) -> None:
    """Answer one question; every outcome ends the stream with ``done`` or ``error``."""

    def emit(event: dict[str, object]) -> None:
        streams.emit(job.stream_id, dict(event))

    try:
        answer_question(job, settings=settings, emit=emit)
    except ShipdocError as exc:
        log.warning("chat %s failed: %s", job.stream_id, exc)
        emit({"event": "error", "code": exc.code, "message": exc.message})
    except Exception as exc:
        log.exception("chat %s failed", job.stream_id)
        emit({"event": "error", "code": "internal", "message": f"{type(exc).__name__}: {exc}"})
