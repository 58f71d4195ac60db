"""Browser sessions of the web app: signing in with an API key opens one.

The cookie holds a random token; only its sha256 is stored (like API keys). A session
carries its own CSRF token, lasts ``SESSION_TTL`` and ends when its key is revoked.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy import delete, select

from core.auth import AuthError, Principal, authenticate, hash_token
from core.db import session_scope
from core.models import ApiKey, Role, WebSession, utcnow

SESSION_TTL = timedelta(hours=8)


class SessionExpired(AuthError):
    """A session cookie that is unknown, expired, or whose key was revoked."""

    code = "session_expired"


class WebLogin(BaseModel):
    principal: Principal
    token: str  # the cookie value, shown only here
    csrf_token: str


class WebIdentity(BaseModel):
    principal: Principal
    csrf_token: str


def open_session(database_url: str, api_key: str) -> WebLogin:
    """Check the key and open a session for it; raises AuthError for a bad key."""
    principal = authenticate(database_url, api_key.strip())
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    with session_scope(database_url) as session:
        now = utcnow()
        session.execute(delete(WebSession).where(WebSession.expires_at < now))
        session.add(
            WebSession(
                token_sha256=hash_token(token),
                api_key_id=principal.key_id,
                csrf_token=csrf,
                expires_at=now + SESSION_TTL,
            )
        )
    return WebLogin(principal=principal, token=token, csrf_token=csrf)


def resolve_session(database_url: str, token: str) -> WebIdentity:
    """The signed-in key of a session cookie; raises SessionExpired."""
    with session_scope(database_url) as session:
        row = session.scalars(
            select(WebSession).where(WebSession.token_sha256 == hash_token(token))
        ).first()
        if row is None or row.expires_at <= utcnow():
            raise SessionExpired("your session has expired; sign in again")
        key = session.get(ApiKey, row.api_key_id)
        if key is None or key.revoked_at is not None:
            raise SessionExpired("the API key of this session was revoked; sign in again")
        principal = Principal(key_id=key.id, name=key.name, role=Role(key.role))
        return WebIdentity(principal=principal, csrf_token=row.csrf_token)


def close_session(database_url: str, token: str) -> None:
    with session_scope(database_url) as session:
        session.execute(delete(WebSession).where(WebSession.token_sha256 == hash_token(token)))


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
