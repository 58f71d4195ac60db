"""Reading an upload's multipart body as a stream, after the caller is authenticated.

FastAPI reads a route's ``File`` parameters (Starlette spools the whole body to disk)
before any dependency runs, so a caller without a key could fill the disk and only then
get a 401. The upload route therefore takes no body parameter: its dependencies
(authentication, role, rate limit, queue depth) run first, then this module reads the body
chunk by chunk, counting every byte: a file over ``max_file_bytes`` or a body over
``max_body`` ends the request with 413 at that byte, also for a chunked body without a
``Content-Length``. Each file is spooled to its own temporary file (at most one in memory
at a time afterwards); the caller stores them one at a time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, cast

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.api.errors import ApiError

# Kept in memory up to this size, then on disk.
_SPOOL_BYTES = 1 << 20


@dataclass
class SpooledFile:
    name: str
    file: IO[bytes]
    size: int = 0

    def head(self, n: int) -> bytes:
        self.file.seek(0)
        return self.file.read(n)

    def read(self) -> bytes:
        self.file.seek(0)
        return self.file.read()


@dataclass
class _Reader:
    field_name: str
    max_file_bytes: int
    max_files: int
    files: list[SpooledFile] = field(default_factory=list)
    _header_field: bytes = b""
    _header_value: bytes = b""
    _disposition: bytes = b""
    _current: SpooledFile | None = None

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field_data,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._disposition = b""
        self._header_field = self._header_value = b""
        self._current = None

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        _kind, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if name != self.field_name or filename is None:
            return  # another form field: ignored, its bytes counted by the body limit only
        if len(self.files) >= self.max_files:
            raise ApiError(
                413, "too_many_files", f"more than {self.max_files} files in one request"
            )
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
        self._current = SpooledFile(filename.decode("utf-8", "replace") or "upload", spool)
        self.files.append(self._current)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        current = self._current
        if current is None:
            return
        current.size += end - start
        if current.size > self.max_file_bytes:
            raise ApiError(
                413,
                "file_too_large",
                f"{current.name}: over the limit of {self.max_file_bytes} bytes",
            )
        current.file.write(data[start:end])

    def _part_end(self) -> None:
        self._current = None


def _boundary(request: Request) -> bytes:
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise ApiError(
            422,
            "invalid_request",
            "the upload must be multipart/form-data with one or more `files` parts",
        )
    return boundary


@contextmanager
def spooled_files(*_args: Any) -> Iterator[list[SpooledFile]]:
    """A list to collect files in, closed (and their temporary files removed) on exit."""
    files: list[SpooledFile] = []
    try:
        yield files
    finally:
        for item in files:
            item.file.close()


async def read_files(
    request: Request,
    into: list[SpooledFile],
    *,
    field_name: str,
    max_file_bytes: int,
    max_files: int,
    max_body: int,
) -> None:
    """Stream the body's ``field_name`` files into ``into`` (see the module docstring)."""
    reader = _Reader(field_name, max_file_bytes, max_files, into)
    parser = MultipartParser(_boundary(request), cast(Any, reader.callbacks()))
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_body:
            raise ApiError(
                413, "request_too_large", f"the request body is over the limit of {max_body}"
            )
        try:
            parser.write(chunk)
        except FormParserError as exc:
            raise ApiError(
                422, "invalid_request", f"the multipart body is malformed: {exc}"
            ) from exc
    try:
        parser.finalize()
    except FormParserError as exc:
        raise ApiError(422, "invalid_request", f"the multipart body is malformed: {exc}") from exc
    if not into:
        raise ApiError(422, "invalid_request", "no `files` part in the upload")


def _malformed(exc: Exception) -> ApiError:
    return ApiError(422, "invalid_request", f"the multipart body is malformed: {exc}")
