"""JSON errors: every failure leaves the API as ``{"error": {"code": ..., "message": ...}}``.

Typed shipdoc errors become HTTP statuses here, at the edge, and nowhere else.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
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

log = logging.getLogger(__name__)

# Seconds a caller should wait while a dependency (database, Redis) is unreachable.
RETRY_AFTER_S = 5

# A dependency that is down: the request may succeed later (503 with Retry-After).
UNAVAILABLE = (OperationalError, redis.ConnectionError, redis.TimeoutError, BrokerError)


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

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("%s %s: dependency unavailable: %s", request.method, request.url.path, exc)
        message = "a service this request needs is unavailable; retry shortly"
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        return JSONResponse(body("service_unavailable", message), 503, headers=headers)

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, _unavailable)

    @app.exception_handler(OSError)
    async def _os_error(request: Request, exc: OSError) -> JSONResponse:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            log.error("%s %s: storage full or read-only: %s", request.method, request.url.path, exc)
            message = "storage is full; the file was not kept; retry later"
            headers = {"Retry-After": str(RETRY_AFTER_S * 12)}
            return JSONResponse(body("storage_full", message), 503, headers=headers)
        return await _internal(request, exc)

    @app.exception_handler(DataError)
    async def _bad_value(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value (out of range, NUL byte): the request's, not ours.
        log.warning("%s %s: value refused: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(body("invalid_value", "a value is out of the accepted range"), 422)

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return await _unavailable(request, exc)
        return await _internal(request, exc)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse(body("internal_error", "the server failed; this was logged"), 500)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in exc.errors()
        ]
        return JSONResponse(
            body("invalid_request", "the request is not valid", details=details), 422
        )
