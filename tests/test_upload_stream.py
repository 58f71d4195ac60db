"""Uploads read after authentication and limited while they stream (issue 10, defect 1),
against a real HTTP server: a chunked body without Content-Length is not spooled for a
caller without a key, and an oversized file ends the request at the limit, not after it."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from app.api import create_app
from core.auth import create_key
from core.models import Role
from core.settings import Settings
from tests.service_harness import embedded_settings, wait_for
from tests.sim_model_server import SimServer, invoice_pdf

MB = 1 << 20


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, Settings]]:
    with SimServer(latency=0.0) as sim:
        settings = embedded_settings(tmp_path / "var", sim.url, max_files_per_upload=3)
        settings = settings.model_copy(
            update={"limits": settings.limits.model_copy(update={"max_file_bytes": 2 * MB})}
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
        srv = uvicorn.Server(config)
        thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        wait_for(lambda: srv.started, 30, "the server to start")
        try:
            yield port, settings
        finally:
            srv.should_exit = True
            thread.join(timeout=30)
            sock.close()


class Body:
    """A multipart body of one file of ``size`` bytes, counting what was sent."""

    def __init__(self, size: int, head: bytes = b"%PDF-1.7\n") -> None:
        self.size = size
        self.head = head
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        yield (
            b'--B\r\nContent-Disposition: form-data; name="files"; filename="big.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n" + self.head
        )
        chunk = b"0" * (256 * 1024)
        while self.sent < self.size:
            self.sent += len(chunk)
            yield chunk
        yield b"\r\n--B--\r\n"


def _post_chunked(port: int, body: Body, token: str | None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "multipart/form-data; boundary=B", "Transfer-Encoding": "chunked"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        conn.request("POST", "/v1/documents", body=iter(body), headers=headers, encode_chunked=True)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


class SpoolWatch:
    """The most bytes this process held at once in temporary files under ``tmp`` (also the
    unlinked ones a spooled upload uses), sampled every 10 ms from /proc/self/fd."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = str(tmp)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/self/fd/{fd}").startswith(self.tmp):
                    total += os.stat(f"/proc/self/fd/{fd}").st_size
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._sample())

    def __enter__(self) -> SpoolWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    return spool


def test_no_key_no_body_spooled(server: tuple[int, Settings], spool_dir: Path) -> None:
    port, _ = server
    with SpoolWatch(spool_dir) as watch:
        status, data = _post_chunked(port, Body(200 * MB), None)
    assert status == 401, data[:200]
    assert watch.peak == 0, f"{watch.peak / MB:.0f} MiB spooled before the 401"


def test_an_oversized_chunked_file_ends_at_the_limit(
    server: tuple[int, Settings], spool_dir: Path
) -> None:
    port, settings = server
    token = create_key(settings.database_url, Role.UPLOADER, "u").token
    with SpoolWatch(spool_dir) as watch:
        status, data = _post_chunked(port, Body(200 * MB), token)
    assert status == 413, data[:200]
    assert b"file_too_large" in data
    assert watch.peak <= 2 * MB + 256 * 1024, f"{watch.peak / MB:.1f} MiB spooled, limit 2 MiB"


def test_a_streamed_upload_still_stores_its_files(server: tuple[int, Settings]) -> None:
    port, settings = server
    token = create_key(settings.database_url, Role.UPLOADER, "u").token
    data = invoice_pdf("INV-STREAM")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    payload = (
        b'--B\r\nContent-Disposition: form-data; name="files"; filename="a.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" + data + b"\r\n--B--\r\n"
    )
    conn.request(
        "POST",
        "/v1/documents",
        body=payload,
        headers={
            "Content-Type": "multipart/form-data; boundary=B",
            "Authorization": f"Bearer {token}",
        },
    )
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 202, body[:300]


def test_uploads_past_the_queue_depth_get_429_with_retry_after(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tests.service_harness import auth

    with SimServer(latency=0.0) as sim:
        settings = embedded_settings(tmp_path / "var", sim.url)
        settings = settings.model_copy(
            update={"reliability": settings.reliability.model_copy(update={"max_queue_depth": 3})}
        )
        with TestClient(create_app(settings)) as client:
            token = create_key(settings.database_url, Role.UPLOADER, "u").token
            client.app.state.service.dispatcher.queue_depths = lambda: {"extract": 3}  # type: ignore[attr-defined]
            files = [("files", ("a.pdf", invoice_pdf("INV-429"), "application/pdf"))]
            response = client.post("/v1/documents", files=files, headers=auth(token))
            assert response.status_code == 429
            assert response.json()["error"]["code"] == "queue_full"
            assert int(response.headers["retry-after"]) > 0
