"""A real HTTP receiver for webhook tests: records every request, answers from a script."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str
    at: float


@dataclass
class Receiver:
    host: str
    port: int
    # Status codes to answer, in order; 200 once they are used up.
    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks/shipdoc"

    def seen(self) -> list[Received]:
        with self.lock:
            return list(self.requests)


@contextmanager
def receiver(host: str = "127.0.0.1", script: list[int] | None = None) -> Iterator[Receiver]:
    state = Receiver(host=host, port=0, script=list(script or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            with state.lock:
                state.requests.append(
                    Received(
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        self.path,
                        time.monotonic(),
                    )
                )
                status = state.script.pop(0) if state.script else 200
            payload = b'{"ok": true}' if status < 300 else b"receiver says no"
            self.send_response(status)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
