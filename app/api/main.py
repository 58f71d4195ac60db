"""The FastAPI application: routes, JSON errors, and the queue it hands work to."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from agent.prompting import prompt_version
from app import web
from app.api import (
    chat,
    documents,
    events,
    exports,
    health,
    kb,
    keys,
    metrics,
    ops,
    records,
    review,
    webhooks,
)
from app.api.deps import ServiceState
from app.api.errors import body, install
from app.api.ratelimit import make_rate_limiter
from core import telemetry
from core.migrate import ensure_current
from core.settings import Settings, get_settings
from evals import shadow
from workers import processing
from workers.dispatch import make_dispatcher

DESCRIPTION = """
Upload shipment documents, read the structured records extracted from them, review
them, and ask the knowledge base. Authenticate with `Authorization: Bearer <key>`
(create keys with `shipdoc keys create --role uploader|operator|viewer|admin`).
Errors are JSON: `{"error": {"code": ..., "message": ...}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    prompt_version()  # refuses to start without the prompt templates

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

    # Starlette spools a multipart body to disk before any route sees it: refuse one that
    # announces more than the upload limits allow before it is read.
    max_body = settings.service.max_files_per_upload * (settings.limits.max_file_bytes + 64_000)

    @app.middleware("http")
    async def limit_upload_size(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length", "")
        if request.method == "POST" and length.isdigit() and int(length) > max_body:
            message = f"the request body of {length} bytes is over the limit of {max_body}"
            return JSONResponse(body("request_too_large", message), 413)
        return await call_next(request)

    for module in (
        documents,
        records,
        review,
        events,
        exports,
        webhooks,
        chat,
        kb,
        keys,
        health,
        metrics,
        ops,
    ):
        app.include_router(module.router)
    telemetry.configure(settings.telemetry)
    # Shadow runs of sampled documents after the primary finished (in-process executor).
    processing.on_document_done(shadow.after_document)
    # A server span per request (probes and scrapes excluded); no-op without a provider.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    # The operators' pages (app/web) after the API, which their scripts call.
    web.mount(app)
    return app
