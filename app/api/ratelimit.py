"""Per-key fixed-window rate limits (per minute) on upload and chat.

With a broker configured the counters live in Redis (``INCR`` + ``EXPIRE``), so every API
process shares them; without one they live in this process.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis

from core.settings import Settings
from workers.streams import redis_client

WINDOW_S = 60


class RateLimiter(Protocol):
    def hit(self, kind: str, key_id: int, limit: int) -> float | None:
        """Count one request; None if allowed, else seconds until the window resets."""
        ...


class RedisRateLimiter:
    def __init__(self, settings: Settings) -> None:
        self._client: redis.Redis = redis_client(settings)
        self._prefix = settings.service.key_prefix + "rl:"

    def hit(self, kind: str, key_id: int, limit: int) -> float | None:
        now = time.time()
        window = int(now // WINDOW_S)
        key = f"{self._prefix}{kind}:{key_id}:{window}"
        pipe = self._client.pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW_S * 2)
        count = int(pipe.execute()[0])
        if count > limit:
            return (window + 1) * WINDOW_S - now
        return None


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], tuple[int, int]] = {}

    def hit(self, kind: str, key_id: int, limit: int) -> float | None:
        now = time.time()
        window = int(now // WINDOW_S)
        with self._lock:
            seen_window, count = self._counts.get((kind, key_id), (window, 0))
            count = count + 1 if seen_window == window else 1
            self._counts[(kind, key_id)] = (window, count)
        if count > limit:
            return (window + 1) * WINDOW_S - now
        return None


def make_rate_limiter(settings: Settings) -> RateLimiter:
    if settings.service.broker_url:
        return RedisRateLimiter(settings)
    return MemoryRateLimiter()
