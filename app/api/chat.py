"""Chat: a question (and optional conversation id) in, an answer citing knowledge-base
chunks and records out, streamed as server-sent events (or one JSON body on request).

The answer is computed on the ``interactive`` queue (workers/chat.py calling
agent/chat.py), never in the pool that runs extractions; this route relays the task's
event stream. A conversation belongs to the key that started it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from agent.chat import ConversationSummary, Turn, check_owner, conversation, conversations_of
from app.api.deps import Chatter, ServiceState, State, rate_limit
from app.api.errors import ApiError, body, from_shipdoc
from core.errors import NotFound
from workers.chat import ChatJob
from workers.streams import END_EVENTS

router = APIRouter(prefix="/v1/chat", tags=["chat"])

POLL_S = 5.0


class ChatIn(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    conversation_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    stream: bool = Field(default=True, description="false: one JSON body instead of SSE")


def _events(state: ServiceState, stream_id: str) -> Iterator[dict[str, Any] | None]:
    """The task's events; None every ``POLL_S`` seconds without one (a keep-alive)."""
    deadline = time.monotonic() + state.settings.model.timeout_s + 60
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            yield {"event": "error", "code": "timeout", "message": "no answer in time"}
            return
        event = state.dispatcher.streams.next_event(stream_id, min(POLL_S, left))
        yield event
        if event is not None and event.get("event") in END_EVENTS:
            return


def _sse(events: Iterator[dict[str, Any] | None]) -> Iterator[str]:
    for event in events:
        if event is None:
            yield ": waiting for the model\n\n"  # an SSE comment keeps proxies from timing out
            continue
        name = str(event.get("event", "message"))
        payload = {k: v for k, v in event.items() if k != "event"}
        yield f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


@router.get("", response_model=list[ConversationSummary])
def list_conversations(state: State, principal: Chatter) -> list[ConversationSummary]:
    """This key's latest conversations, newest first."""
    return conversations_of(principal.key_id, state.settings)


@router.get("/{conversation_id}", response_model=list[Turn], responses={404: {}})
def read_conversation(conversation_id: str, state: State, principal: Chatter) -> list[Turn]:
    """The turns of one of this key's conversations (another key's is not found)."""
    try:
        return conversation(conversation_id, principal.key_id, state.settings)
    except NotFound as exc:
        raise from_shipdoc(exc) from exc


@router.post("", responses={200: {"content": {"text/event-stream": {}}}, 404: {}, 429: {}, 503: {}})
async def chat(request: ChatIn, state: State, principal: Chatter) -> Any:
    """Ask a question; SSE events: ``sources``, ``delta`` (answer text), ``done`` or ``error``."""
    rate_limit(state, "chat", principal, state.settings.service.chat_rate_per_minute)
    if request.conversation_id:
        try:
            await run_in_threadpool(
                check_owner, request.conversation_id, principal.key_id, state.settings
            )
        except NotFound as exc:
            raise from_shipdoc(exc) from exc
    job = ChatJob(
        stream_id=uuid.uuid4().hex,
        conversation_id=request.conversation_id or uuid.uuid4().hex,
        question=request.question,
        api_key_id=principal.key_id,
    )
    try:
        await run_in_threadpool(state.dispatcher.submit_chat, job)
    except Exception as exc:
        raise ApiError(503, "queue_unavailable", f"the chat queue is unavailable ({exc})") from exc
    if request.stream:
        return StreamingResponse(
            _sse(_events(state, job.stream_id)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Conversation-Id": job.conversation_id},
        )
    return await run_in_threadpool(_collect, state, job)


def _collect(state: ServiceState, job: ChatJob) -> JSONResponse:
    sources: list[Any] = []
    for event in _events(state, job.stream_id):
        if event is None:
            continue
        if event["event"] == "sources":
            sources = event["sources"]
        elif event["event"] == "done":
            return JSONResponse(
                {**{k: v for k, v in event.items() if k != "event"}, "sources": sources}
            )
        elif event["event"] == "error":
            status = 504 if event.get("code") == "timeout" else 502
            return JSONResponse(body(str(event["code"]), str(event["message"])), status)
    return JSONResponse(body("internal", "the chat stream ended without an answer"), 502)
