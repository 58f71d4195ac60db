"""Event streams from a chat task to the HTTP request that streams them (SSE).

With a broker, the worker appends JSON events to a Redis list and the API pops them; the
list expires, so an abandoned stream cleans itself up. Without one, an in-memory queue
per request does the same inside the process.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Any, Protocol

import redis

from core.settings import Settings

STREAM_TTL_S = 600
END_EVENTS = frozenset({"done", "error"})


class Streams(Protocol):
    def emit(self, stream_id: str, event: dict[str, Any]) -> None: ...

    def next_event(self, stream_id: str, timeout_s: float) -> dict[str, Any] | None: ...


class RedisStreams:
    def __init__(self, settings: Settings) -> None:
        self._client = redis_client(settings)
        self._prefix = settings.service.key_prefix + "chat:"

    def emit(self, stream_id: str, event: dict[str, Any]) -> None:
        key = self._prefix + stream_id
        pipe = self._client.pipeline()
        pipe.rpush(key, json.dumps(event))
        pipe.expire(key, STREAM_TTL_S)
        pipe.execute()

    def next_event(self, stream_id: str, timeout_s: float) -> dict[str, Any] | None:
        popped = self._client.blpop([self._prefix + stream_id], timeout=max(timeout_s, 0.01))
        if popped is None:
            return None
        value: dict[str, Any] = json.loads(popped[1])
        return value


class MemoryStreams:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, queue.Queue[dict[str, Any]]] = {}

    def _queue(self, stream_id: str) -> queue.Queue[dict[str, Any]]:
        with self._lock:
            return self._queues.setdefault(stream_id, queue.Queue())

    def emit(self, stream_id: str, event: dict[str, Any]) -> None:
        self._queue(stream_id).put(event)

    def next_event(self, stream_id: str, timeout_s: float) -> dict[str, Any] | None:
        try:
            event = self._queue(stream_id).get(timeout=timeout_s)
        except queue.Empty:
            return None
        if event.get("event") in END_EVENTS:
            with self._lock:
                self._queues.pop(stream_id, None)
        return event


def redis_client(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.service.broker_url, socket_timeout=30)
