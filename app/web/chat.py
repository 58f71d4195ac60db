"""Chat: the key's conversations, answers streamed from ``POST /v1/chat`` as the model
writes them, and the sources an answer cites (only within the key's own conversations)."""

from __future__ import annotations

import re
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


_MARKER = re.compile(r"\[(chunk|record):([A-Za-z0-9\-]+)\]")


def answer_parts(turn: Turn, conversation_id: str) -> list[tuple[str, str, str]]:
    """The turn's text with each citation marker as a numbered link: (text, href, label)
    parts, href empty for plain text. Markers of sources not cited stay as text."""
    numbers: dict[tuple[str, str], int] = {}
    for n, c in enumerate(turn.citations, start=1):
        if isinstance(c, dict):
            numbers[(str(c.get("kind")), str(c.get("id")))] = n
    parts: list[tuple[str, str, str]] = []
    last = 0
    for match in _MARKER.finditer(turn.content):
        number = numbers.get((match.group(1), match.group(2)))
        if number is None:
            continue
        parts.append((turn.content[last : match.start()], "", ""))
        cited = {"kind": match.group(1), "id": match.group(2)}
        parts.append(("", _link(cited, conversation_id), str(number)))
        last = match.end()
    parts.append((turn.content[last:], "", ""))
    return parts


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
            "parts": answer_parts,
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
