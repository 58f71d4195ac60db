"""Liveness (``/healthz``) and readiness (``/readyz``: every dependency checked).

``/readyz`` needs no key, so it tells an anonymous caller only which check failed; the
details (URLs, exception text) go to the log, and to callers with an admin key. The
knowledge-base check (which loads the embedder) is cached for ``KB_CHECK_TTL_S``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import httpx
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from agent.models.fetch import cached_path
from app.api.deps import ServiceState, State, get_principal
from core.db import get_engine
from core.migrate import alembic_config
from core.settings import Settings
from kb.guard import check_embedder

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

KB_CHECK_TTL_S = 30.0
_kb_cache: dict[str, tuple[float, str | Exception]] = {}
_kb_lock = threading.Lock()


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, Check]


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (no dependency is touched)."""
    return {"status": "ok"}


def check_database(settings: Settings) -> str:
    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    with get_engine(settings.database_url).connect() as conn:
        conn.execute(text("SELECT 1"))
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        raise RuntimeError(f"schema at {current}, code expects {head}: run `shipdoc db upgrade`")
    return f"schema {current}"


def check_broker(state: ServiceState) -> str:
    if not state.settings.service.broker_url:
        return "in-process executor (no broker configured)"
    state.dispatcher.ping()
    depths = state.dispatcher.queue_depths()
    return "redis ok; waiting " + ", ".join(f"{q}={n}" for q, n in depths.items())


def check_kb(settings: Settings) -> str:
    """Qdrant reachable and every collection built, by the configured embedder (cached)."""
    key = f"{settings.var_dir}|{settings.kb.model_dump_json()}"
    with _kb_lock:
        cached = _kb_cache.get(key)
        if cached is None or time.monotonic() - cached[0] > KB_CHECK_TTL_S:
            try:
                result: str | Exception = _check_kb(settings)
            except Exception as exc:
                result = exc
            cached = _kb_cache[key] = (time.monotonic(), result)
    if isinstance(cached[1], Exception):
        raise cached[1]
    return cached[1]


def _check_kb(settings: Settings) -> str:
    statuses = check_embedder(settings)
    missing = [s.collection for s in statuses if s.status != "ok"]
    if missing:
        raise RuntimeError(f"collections not built: {', '.join(missing)} (`shipdoc kb ingest`)")
    return ", ".join(f"{s.collection}={s.status}" for s in statuses)


def check_model(settings: Settings) -> str:
    cfg = settings.model
    if cfg.backend == "openai":
        url = cfg.base_url.rstrip("/") + "/models"
        headers = {"Authorization": f"Bearer {cfg.api_key.get_secret_value()}"}
        try:
            httpx.get(url, headers=headers, timeout=5.0).raise_for_status()
        except httpx.HTTPError as exc:
            raise RuntimeError(f"{url}: {exc}") from exc
        return f"{url} answered"
    if cfg.backend == "scripted":
        if cfg.script_path is None or not cfg.script_path.is_file():
            raise RuntimeError(f"model script {cfg.script_path} does not exist")
        return f"scripted from {cfg.script_path}"
    path = cfg.path or cached_path(cfg.name, cfg.cache_dir)
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: run `shipdoc model fetch {cfg.name}`")
    return f"local GGUF {path}"


def _run(check: Callable[[], str]) -> Check:
    try:
        return Check(ok=True, detail=check())
    except Exception as exc:
        return Check(ok=False, detail=f"{type(exc).__name__}: {exc}")


def readiness(state: ServiceState) -> Readiness:
    settings = state.settings
    checks = {
        "database": _run(lambda: check_database(settings)),
        "broker": _run(lambda: check_broker(state)),
        "kb": _run(lambda: check_kb(settings)),
        "model": _run(lambda: check_model(settings)),
    }
    return Readiness(ready=all(c.ok for c in checks.values()), checks=checks)


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request, state: State) -> JSONResponse:
    """Database (and schema), broker, Qdrant with the embedding guard, model endpoint.
    Details only for an admin key."""
    result = await run_in_threadpool(readiness, state)
    for name, check in result.checks.items():
        if not check.ok:
            log.warning("readyz: %s not ready: %s", name, check.detail)
    if not await _is_admin(request, state):
        result = Readiness(
            ready=result.ready,
            checks={
                n: Check(ok=c.ok, detail="ok" if c.ok else "unavailable")
                for n, c in result.checks.items()
            },
        )
    return JSONResponse(result.model_dump(), 200 if result.ready else 503)


async def _is_admin(request: Request, state: ServiceState) -> bool:
    if not (request.headers.get("authorization") or request.headers.get("x-api-key")):
        return False
    try:
        principal = await get_principal(request, state)
    except Exception:
        return False
    return principal.role.value == "admin"
