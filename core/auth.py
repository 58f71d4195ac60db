"""API keys and roles.

A key is ``sdk_`` followed by 32 random bytes (URL-safe base64). Only its sha256 is stored.
A fast hash is enough here, unlike for passwords: a 256-bit random token cannot be guessed
or brute-forced from its hash, so a slow KDF (bcrypt, argon2) would add only latency to
every request; and a deterministic hash lets a request find its key by an index lookup.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import CursorResult, select, update

from core.db import session_scope
from core.errors import ShipdocError
from core.models import ApiKey, Role, utcnow

TOKEN_PREFIX = "sdk_"
# last_used_at is written at most once a minute per key, not on every request.
LAST_USED_RESOLUTION_S = 60


class Permission(enum.StrEnum):
    READ = "read"
    UPLOAD = "upload"
    REVIEW = "review"
    CHAT = "chat"
    ADMIN = "admin"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.UPLOADER: frozenset({Permission.READ, Permission.UPLOAD}),
    Role.OPERATOR: frozenset({Permission.READ, Permission.REVIEW, Permission.CHAT}),
    Role.ADMIN: frozenset(Permission),
}


class AuthError(ShipdocError):
    """No key, an unknown key or a revoked key (HTTP 401)."""

    code = "unauthorized"


class Principal(BaseModel):
    """Who is calling: the key's id, name and role."""

    key_id: int
    name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


class CreatedKey(BaseModel):
    id: int
    name: str
    role: Role
    token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(database_url: str, role: Role, name: str) -> CreatedKey:
    """Create a key; the returned token is the only time it exists in clear."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_scope(database_url) as session:
        row = ApiKey(
            name=name[:100],
            prefix=token[:12],
            token_sha256=hash_token(token),
            role=role.value,
        )
        session.add(row)
        session.flush()
        return CreatedKey(id=row.id, name=row.name, role=role, token=token)


def authenticate(database_url: str, token: str) -> Principal:
    """The principal of ``token``; raises AuthError for an unknown or revoked key."""
    if not token.startswith(TOKEN_PREFIX):
        raise AuthError("not a shipdoc API key")
    digest = hash_token(token)
    with session_scope(database_url) as session:
        row = session.scalars(select(ApiKey).where(ApiKey.token_sha256 == digest)).first()
        if row is None or row.revoked_at is not None:
            raise AuthError("unknown or revoked API key")
        now = utcnow()
        seen = row.last_used_at
        if seen is None or (now - seen).total_seconds() > LAST_USED_RESOLUTION_S:
            row.last_used_at = now
        return Principal(key_id=row.id, name=row.name, role=Role(row.role))


def list_keys(database_url: str) -> list[ApiKey]:
    with session_scope(database_url) as session:
        return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(database_url: str, key_id: int) -> bool:
    """Revoke a key; False when there is no such active key."""
    with session_scope(database_url) as session:
        result = session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        changed = cast(CursorResult[Any], result).rowcount
    return bool(changed)
