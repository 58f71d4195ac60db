"""Sign-in with an API key (a session cookie), sign-out, and the pages' access checks.

The session cookie is HttpOnly and SameSite=Strict; it is Secure when the request came
over HTTPS. Every form carries a CSRF token: the sign-in form a double-submit token (a
cookie and a hidden field that must match), every other form and every script request
the session's own token (the hidden field ``csrf`` or the ``X-CSRF-Token`` header).
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import SESSION_COOKIE, State
from app.web.render import page
from core.auth import AuthError, Permission
from core.sessions import (
    SESSION_TTL,
    WebIdentity,
    close_session,
    open_session,
    resolve_session,
    same_token,
)

router = APIRouter(include_in_schema=False)

SIGNIN_CSRF_COOKIE = "shipdoc_signin_csrf"


class SignInRequired(Exception):
    """No session, or an expired one: the page sends the browser to the sign-in form."""

    def __init__(self, next_path: str, expired: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired


class WebForbidden(Exception):
    """A signed-in key whose role may not see the page."""

    def __init__(self, identity: WebIdentity, permission: Permission) -> None:
        super().__init__(permission.value)
        self.identity = identity
        self.permission = permission


class CsrfRefused(Exception):
    """A form posted without the right CSRF token."""


async def web_identity(request: Request, state: State) -> WebIdentity:
    cookie = request.cookies.get(SESSION_COOKIE)
    next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not cookie:
        raise SignInRequired(next_path, expired=False)
    try:
        return await run_in_threadpool(resolve_session, state.settings.database_url, cookie)
    except AuthError as exc:
        raise SignInRequired(next_path, expired=True) from exc


def allowed(permission: Permission) -> object:
    async def check(identity: Annotated[WebIdentity, Depends(web_identity)]) -> WebIdentity:
        if not identity.principal.can(permission):
            raise WebForbidden(identity, permission)
        return identity

    return check


Viewer = Annotated[WebIdentity, Depends(allowed(Permission.READ))]
ReviewerUser = Annotated[WebIdentity, Depends(allowed(Permission.REVIEW))]
UploaderUser = Annotated[WebIdentity, Depends(allowed(Permission.UPLOAD))]
ChatUser = Annotated[WebIdentity, Depends(allowed(Permission.CHAT))]


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no ``//host`` or scheme) is followed after sign-in."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str = "/", expired: bool = False) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(
        request,
        "signin.html",
        {"next": _safe_next(next), "expired": expired, "error": None, "signin_csrf": token},
    )
    _set_cookie(request, response, SIGNIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.post("/signin", response_class=HTMLResponse)
async def signin(
    request: Request,
    state: State,
    api_key: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if not same_token(request.cookies.get(SIGNIN_CSRF_COOKIE, ""), csrf):
        raise CsrfRefused()
    try:
        login = await run_in_threadpool(open_session, state.settings.database_url, api_key)
    except AuthError as exc:
        token = secrets.token_urlsafe(24)
        response = page(
            request,
            "signin.html",
            {
                "next": _safe_next(next),
                "expired": False,
                "error": exc.message,
                "signin_csrf": token,
            },
            status_code=401,
        )
        _set_cookie(request, response, SIGNIN_CSRF_COOKIE, token, max_age=3600)
        return response
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    _set_cookie(
        request, redirect, SESSION_COOKIE, login.token, max_age=int(SESSION_TTL.total_seconds())
    )
    redirect.delete_cookie(SIGNIN_CSRF_COOKIE, path="/")
    return redirect


@router.post("/signout")
async def signout(
    request: Request,
    state: State,
    identity: Annotated[WebIdentity, Depends(web_identity)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not same_token(identity.csrf_token, csrf):
        raise CsrfRefused()
    cookie = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(close_session, state.settings.database_url, cookie)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def signin_redirect(exc: SignInRequired) -> RedirectResponse:
    target = "/signin?next=" + quote(_safe_next(exc.next_path), safe="")
    if exc.expired:
        target += "&expired=1"
    response = RedirectResponse(target, status_code=303)
    if exc.expired:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
