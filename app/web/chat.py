"""Chat: the key's conversations, answers streamed from ``POST /v1/chat`` as the model
writes them, and the sources an answer cites (only within the key's own conversations)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from agent.chat import Turn, conversation, conversations_of
from app.api.deps import State
from app.web.auth import ChatUser
from app.web.render import page
from core.errors import NotFound

router = APIRouter(include_in_schema=False)


def _link(citation: dict[str, Any], conversation_id: str) -> str:
    if citation.get("kind") == "record":
        return f"/records/{citation.get('id')}"
    return f"/chat/{conversation_id}/sources/{citation.get('kind')}/{citation.get('id')}"


async def _page(
    request: Request, state: State, identity: Any, conversation_id: str | None
) -> Response:
    key = identity.principal.key_id
    talks = await run_in_threadpool(conversations_of, key, state.settings)
    turns: list[Turn] = []
    if conversation_id:
        try:
            turns = await run_in_threadpool(conversation, conversation_id, key, state.settings)
        except NotFound as exc:
            raise HTTPException(404, "no such conversation") from exc
    return page(
        request,
        "chat.html",
        {
            "conversations": talks,
            "turns": turns,
            "conversation_id": conversation_id or "",
            "link": _link,
        },
        principal=identity.principal,
        csrf=identity.csrf_token,
    )


@router.get("/chat", response_class=HTMLResponse)
async def new_chat(request: Request, state: State, identity: ChatUser) -> Response:
    return await _page(request, state, identity, None)


@router.get("/chat/{conversation_id}", response_class=HTMLResponse)
async def show_chat(
    request: Request, conversation_id: str, state: State, identity: ChatUser
) -> Response:
    return await _page(request, state, identity, conversation_id)


@router.get("/chat/{conversation_id}/sources/{kind}/{source_id}", response_class=HTMLResponse)
async def source(
    request: Request,
    conversation_id: str,
    kind: str,
    source_id: str,
    state: State,
    identity: ChatUser,
) -> Response:
    """A cited passage, as the model was given it, from one of the key's conversations."""
    try:
        turns = await run_in_threadpool(
            conversation, conversation_id, identity.principal.key_id, state.settings
        )
    except NotFound as exc:
        raise HTTPException(404, "no such conversation") from exc
    found = next(
        (
            c
            for t in turns
            for c in t.citations
            if isinstance(c, dict) and c.get("kind") == kind and str(c.get("id")) == source_id
        ),
        None,
    )
    if found is None:
        raise HTTPException(404, "this conversation cites no such source")
    return page(
        request,
        "source.html",
        {"c": found, "conversation_id": conversation_id},
        principal=identity.principal,
        csrf=identity.csrf_token,
    )
