"""Templates and the request-scoped values every page needs (who is signed in, CSRF)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from core.auth import Permission, Principal

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")


def _age(value: datetime | None) -> str:
    """'3 min', '2 h', '4 d' since ``value``."""
    if value is None:
        return "-"
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    seconds = max((datetime.now(UTC) - aware).total_seconds(), 0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


templates.env.filters["age"] = _age
templates.env.filters["when"] = _when


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    principal: Principal | None = None,
    csrf: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    nav = []
    if principal is not None:
        nav = [("/", "Dashboard", Permission.READ)]
        nav += [("/review", "Review", Permission.REVIEW), ("/upload", "Upload", Permission.UPLOAD)]
        nav += [("/chat", "Chat", Permission.CHAT)]
        nav = [(href, label, p) for href, label, p in nav if principal.can(p)]
    ctx = {"principal": principal, "csrf": csrf, "nav": nav, "path": request.url.path, **context}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
