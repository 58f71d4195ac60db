"""API keys (admin): create (the token is shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.api.deps import Admin, DbId, State
from app.api.errors import ApiError
from core.auth import CreatedKey, create_key, list_keys, revoke_key
from core.models import Role

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@router.post("", status_code=201, response_model=CreatedKey)
def create(body: KeyIn, state: State, _principal: Admin) -> CreatedKey:
    """A new key; ``token`` is returned this once and stored only as a hash."""
    return create_key(state.settings.database_url, body.role, body.name)


@router.get("", response_model=list[KeyOut])
def list_all(state: State, _principal: Admin) -> list[KeyOut]:
    return [
        KeyOut.model_validate(k, from_attributes=True)
        for k in list_keys(state.settings.database_url)
    ]


@router.delete("/{key_id}", status_code=204)
def revoke(key_id: DbId, state: State, _principal: Admin) -> None:
    if not revoke_key(state.settings.database_url, key_id):
        raise ApiError(404, "not_found", f"no active key with id {key_id}")
