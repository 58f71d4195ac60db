"""JSON errors: every failure leaves the API as ``{"error": {"code": ..., "message": ...}}``.

Typed shipdoc errors become HTTP statuses here, at the edge, and nowhere else.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.auth import AuthError
from core.errors import (
    FileTooLarge,
    ImageTooLarge,
    InputError,
    NotFound,
    ShipdocError,
    TooManyPages,
    UnsupportedType,
)


class ApiError(Exception):
    """An error with its HTTP status, code and message (and optional headers)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def status_for(exc: ShipdocError) -> int:
    if isinstance(exc, FileTooLarge | ImageTooLarge | TooManyPages):
        return 413
    if isinstance(exc, UnsupportedType):
        return 415
    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, NotFound):
        return 404
    return 500


def from_shipdoc(exc: ShipdocError) -> ApiError:
    return ApiError(status_for(exc), exc.code, exc.message)


def body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(body(exc.code, exc.message), exc.status, headers=exc.headers)

    @app.exception_handler(ShipdocError)
    async def _shipdoc_error(_request: Request, exc: ShipdocError) -> JSONResponse:
        return JSONResponse(body(exc.code, exc.message), status_for(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in exc.errors()
        ]
        return JSONResponse(
            body("invalid_request", "the request is not valid", details=details), 422
        )
