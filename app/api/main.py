"""The FastAPI application: routes, JSON errors, and the queue it hands work to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import chat, documents, health, kb, keys, metrics, records, review
from app.api.deps import ServiceState
from app.api.errors import install
from app.api.ratelimit import make_rate_limiter
from core.migrate import ensure_current
from core.settings import Settings, get_settings
from workers.dispatch import make_dispatcher

DESCRIPTION = """
Upload shipment documents, read the structured records extracted from them, review
them, and ask the knowledge base. Authenticate with `Authorization: Bearer <key>`
(create keys with `shipdoc keys create --role uploader|operator|viewer|admin`).
Errors are JSON: `{"error": {"code": ..., "message": ...}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # SQLite (embedded) is brought to head; a PostgreSQL schema behind the code is an
        # error that tells the operator to run `shipdoc db upgrade`.
        ensure_current(settings.database_url)
        dispatcher = make_dispatcher(settings)
        app.state.service = ServiceState(settings, dispatcher, make_rate_limiter(settings))
        try:
            yield
        finally:
            dispatcher.close()

    app = FastAPI(
        title="shipdoc",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    install(app)
    for module in (documents, records, review, chat, kb, keys, health, metrics):
        app.include_router(module.router)
    return app
