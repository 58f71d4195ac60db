"""Request dependencies: the service state, the caller's key and role, rate limits."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from app.api.errors import ApiError
from app.api.ratelimit import RateLimiter
from core.auth import AuthError, Permission, Principal, authenticate
from core.sessions import resolve_session, same_token
from core.settings import Settings
from workers.dispatch import Dispatcher

# Ids are 32-bit integer columns: a larger one names nothing (404/422, not a database error).
MAX_ID = 2**31 - 1
DbId = Annotated[int, Path(ge=1, le=MAX_ID, description="the row's id")]
DbIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
# The deepest page of a listing.
MaxOffset = Annotated[int, Query(ge=0, le=MAX_ID)]


@dataclass
class ServiceState:
    settings: Settings
    dispatcher: Dispatcher
    limiter: RateLimiter


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


State = Annotated[ServiceState, Depends(get_state)]

# The web app's session cookie (app/web): the pages' scripts call this API with it and
# send the session's CSRF token in this header on every request that changes something.
SESSION_COOKIE = "shipdoc_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key", "").strip()


async def get_principal(request: Request, state: State) -> Principal:
    token = _token(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not token and cookie:
        return await _session_principal(request, state, cookie)
    if not token:
        raise ApiError(
            401,
            "unauthorized",
            "an API key is required (Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return await run_in_threadpool(authenticate, state.settings.database_url, token)
    except AuthError as exc:
        raise ApiError(401, exc.code, exc.message, headers={"WWW-Authenticate": "Bearer"}) from exc


async def _session_principal(request: Request, state: ServiceState, cookie: str) -> Principal:
    try:
        identity = await run_in_threadpool(resolve_session, state.settings.database_url, cookie)
    except AuthError as exc:
        raise ApiError(401, exc.code, exc.message) from exc
    if request.method not in SAFE_METHODS and not same_token(
        identity.csrf_token, request.headers.get(CSRF_HEADER)
    ):
        raise ApiError(403, "csrf_failed", "the request lacks the session's CSRF token")
    return identity.principal


def require(permission: Permission) -> Callable[..., Principal]:
    """A dependency that lets through only keys whose role has ``permission``."""

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.can(permission):
            raise ApiError(
                403,
                "forbidden",
                f"the {principal.role.value} role may not {permission.value}",
            )
        return principal

    return check


def rate_limit(state: ServiceState, kind: str, principal: Principal, limit: int) -> None:
    wait = state.limiter.hit(kind, principal.key_id, limit)
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            f"more than {limit} {kind} requests a minute for this key; retry in {wait:.0f}s",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


Reader = Annotated[Principal, Depends(require(Permission.READ))]
Uploader = Annotated[Principal, Depends(require(Permission.UPLOAD))]
Reviewer = Annotated[Principal, Depends(require(Permission.REVIEW))]
Chatter = Annotated[Principal, Depends(require(Permission.CHAT))]
Admin = Annotated[Principal, Depends(require(Permission.ADMIN))]
