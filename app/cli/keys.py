"""``shipdoc keys create|list|revoke``: API keys for the HTTP API."""

from __future__ import annotations

import typer

from core.auth import create_key, list_keys, revoke_key
from core.errors import NotFound
from core.migrate import ensure_current
from core.models import Role
from core.settings import get_settings

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@app.command("create")
def create_cmd(
    role: Role = typer.Option(
        ..., help="viewer reads, uploader uploads, operator reviews and chats, admin manages keys"
    ),
    name: str = typer.Option("", help="who or what the key is for"),
) -> None:
    """Create a key and print its token once (only a hash is stored)."""
    settings = get_settings()
    ensure_current(settings.database_url)
    created = create_key(settings.database_url, role, name or f"{role.value} key")
    typer.echo(
        f"key {created.id} ({created.role.value}, {created.name}); store this token now:", err=True
    )
    typer.echo(created.token)


@app.command("list")
def list_cmd() -> None:
    """List keys (id, prefix, role, name, created, revoked)."""
    settings = get_settings()
    ensure_current(settings.database_url)
    for key in list_keys(settings.database_url):
        revoked = f" revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
        typer.echo(
            f"{key.id}\t{key.prefix}…\t{key.role}\t{key.name}\t"
            f"created {key.created_at:%Y-%m-%d %H:%M}{revoked}"
        )


@app.command("revoke")
def revoke_cmd(
    key_id: int = typer.Argument(..., help="the key's id (see `shipdoc keys list`)"),
) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    settings = get_settings()
    ensure_current(settings.database_url)
    if not revoke_key(settings.database_url, key_id):
        raise NotFound(f"no active key with id {key_id}")
    typer.echo(f"key {key_id} revoked")
