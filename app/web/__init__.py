"""The operators' web app: server-rendered pages in the API's FastAPI app.

Dashboard and records (``/``), a record with its page images (``/records/{id}``), the
review queue (``/review``), upload (``/upload``) and chat (``/chat``). Pages sign in with
an API key (app/web/auth.py) and use the API's roles; their scripts call the JSON API
with the session cookie and CSRF token, so the API stays the one implementation.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.errors import body
from app.web import auth, chat, dashboard, records, review, upload
from app.web.auth import CsrfRefused, SignInRequired, WebForbidden, signin_redirect
from app.web.render import HERE, page

API_PREFIXES = ("/v1/", "/docs", "/openapi.json", "/healthz", "/readyz", "/metrics", "/static/")


def _is_api(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def mount(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (auth, dashboard, records, review, upload, chat):
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def _signin(_request: Request, exc: SignInRequired) -> Response:
        return signin_redirect(exc)

    @app.exception_handler(WebForbidden)
    async def _forbidden(request: Request, exc: WebForbidden) -> Response:
        role = exc.identity.principal.role.value
        return page(
            request,
            "error.html",
            {
                "heading": "Not for your role",
                "message": f"Your key has the {role} role, which may not {exc.permission.value}. "
                "Ask an administrator for a key with the right role.",
            },
            principal=exc.identity.principal,
            csrf=exc.identity.csrf_token,
            status_code=403,
        )

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _exc: CsrfRefused) -> Response:
        return page(
            request,
            "error.html",
            {
                "heading": "This form has expired",
                "message": "The form was sent without its security token (or with an old "
                "one). Go back, reload the page and send it again.",
            },
            status_code=403,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request.url.path):
            code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
            return JSONResponse(body(code, str(exc.detail)), exc.status_code, headers=exc.headers)
        heading = "Page not found" if exc.status_code == 404 else "Something is not right"
        message = (
            "There is no page at this address. It may have moved, or the link was mistyped."
            if exc.status_code == 404
            else str(exc.detail)
        )
        return page(
            request,
            "error.html",
            {"heading": heading, "message": message},
            status_code=exc.status_code,
        )
