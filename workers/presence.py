"""Worker heartbeats: each worker process writes a short-lived Redis hash every few seconds;
the API's ``/metrics`` reads them, so a worker that is gone shows up as missing (its key
expires) rather than as silence."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

from redis import Redis, RedisError

log = logging.getLogger(__name__)

INTERVAL_S = 10.0
TTL_S = 45


@dataclass(frozen=True)
class Heartbeat:
    worker: str
    queue: str
    age_s: float
    ready: bool


def worker_name(queue: str) -> str:
    return f"{queue}-{os.getpid()}@{socket.gethostname()}"


def _key(prefix: str, worker: str) -> str:
    return f"{prefix}worker:{worker}"


def beat(client: Redis, prefix: str, worker: str, queue: str, *, ready: bool) -> None:
    key = _key(prefix, worker)
    pipe = client.pipeline()
    pipe.hset(key, "queue", queue)
    pipe.hset(key, "ts", f"{time.time():.3f}")
    pipe.hset(key, "ready", "1" if ready else "0")
    pipe.expire(key, TTL_S)
    pipe.execute()


def read(client: Redis, prefix: str, now: float | None = None) -> list[Heartbeat]:
    now = time.time() if now is None else now
    out = []
    for raw_key in client.scan_iter(match=f"{prefix}worker:*", count=200):
        key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
        fields = {
            (k.decode() if isinstance(k, bytes) else str(k)): (
                v.decode() if isinstance(v, bytes) else str(v)
            )
            for k, v in client.hgetall(key).items()
        }
        if "ts" not in fields:
            continue
        out.append(
            Heartbeat(
                worker=key[len(f"{prefix}worker:") :],
                queue=fields.get("queue", ""),
                age_s=max(0.0, now - float(fields["ts"])),
                ready=fields.get("ready") == "1",
            )
        )
    return sorted(out, key=lambda h: h.worker)


class HeartbeatThread:
    """Beats every ``INTERVAL_S`` until stopped; ``ready`` flips once warm-up answered."""

    def __init__(self, client: Redis, prefix: str, queue: str) -> None:
        self.client = client
        self.prefix = prefix
        self.queue = queue
        self.worker = worker_name(queue)
        self.ready = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> HeartbeatThread:
        self._beat()
        self._thread.start()
        return self

    def mark_ready(self) -> None:
        self.ready = True
        self._beat()

    def _beat(self) -> None:
        try:
            beat(self.client, self.prefix, self.worker, self.queue, ready=self.ready)
        except RedisError as exc:
            log.warning("heartbeat of %s failed: %s", self.worker, exc)

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL_S):
            self._beat()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(RedisError):
            self.client.delete(_key(self.prefix, self.worker))
