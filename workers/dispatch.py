"""Handing work to the queue: Celery over Redis when a broker is configured, else an
in-process executor with one thread pool per queue (the embedded default). Both run the
same functions (workers.processing, workers.chat, workers.kb_ingest).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, Protocol

from opentelemetry.trace import Span, SpanKind

from core import telemetry
from core.settings import Settings
from workers import presence
from workers.celery_app import (
    CHAT,
    EXTRACT_QUEUE,
    INTERACTIVE_QUEUE,
    KB_INGEST,
    KB_QUEUE,
    PROCESS_DOCUMENT,
    QUEUES,
    ROUTES,
    build_app,
)
from workers.chat import ChatJob, run_chat
from workers.kb_ingest import ingest_docs
from workers.processing import RetryLater, process_document
from workers.reconcile import Reconciler
from workers.streams import MemoryStreams, RedisStreams, Streams, redis_client
from workers.webhooks.delivery import DeliveryLoop

log = logging.getLogger(__name__)


# A message header with the time the task was sent: the queue's age is its oldest message's.
SENT_AT = "shipdoc_sent_at"


def _sent_at(raw: bytes | str) -> float | None:
    try:
        message = json.loads(raw)
        return float(message["headers"][SENT_AT])
    except (ValueError, KeyError, TypeError):
        return None


TASK_OF_QUEUE = {route["queue"]: name for name, route in ROUTES.items()}


def enqueue_span(task: str, queue: str) -> AbstractContextManager[Span]:
    """The producer span of one queued task (its context goes with the message)."""
    attributes = {"messaging.system": "celery", "messaging.destination.name": queue}
    return telemetry.span(f"send {task}", attributes, kind=SpanKind.PRODUCER)


class Dispatcher(Protocol):
    streams: Streams

    def submit_document(self, document_id: int) -> None: ...

    def submit_chat(self, job: ChatJob) -> None: ...

    def submit_kb_ingest(self) -> None: ...

    def queue_depths(self) -> dict[str, int]: ...

    def queue_ages(self) -> dict[str, float]: ...

    def heartbeats(self) -> list[presence.Heartbeat]: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


class CeleryDispatcher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = build_app(settings)
        self.streams: Streams = RedisStreams(settings)
        self._redis = redis_client(settings)

    def _send(self, name: str, args: list[Any]) -> None:
        queue = ROUTES[name]["queue"]
        with enqueue_span(name, queue):
            # The trace context travels in the message headers (workers/tasks.py reads it).
            headers = telemetry.inject_headers()
            headers[SENT_AT] = f"{time.time():.3f}"
            self.app.send_task(name, args=args, queue=queue, headers=headers)

    def submit_document(self, document_id: int) -> None:
        self._send(PROCESS_DOCUMENT, [document_id])

    def submit_chat(self, job: ChatJob) -> None:
        self._send(CHAT, [job.model_dump(mode="json")])

    def submit_kb_ingest(self) -> None:
        self._send(KB_INGEST, [])

    def queue_depths(self) -> dict[str, int]:
        """Messages waiting per queue (kombu keeps one Redis list per priority step)."""
        prefix = self.settings.service.key_prefix
        depths: dict[str, int] = {}
        for queue in QUEUES:
            keys = [prefix + queue] + [f"{prefix}{queue}\x06\x16{p}" for p in range(1, 10)]
            pipe = self._redis.pipeline()
            for key in keys:
                pipe.llen(key)
            depths[queue] = sum(int(n) for n in pipe.execute())
        return depths

    def queue_ages(self) -> dict[str, float]:
        """Seconds the oldest message of each queue has waited (kombu pushes on the left and
        pops on the right: the oldest is the last element)."""
        prefix = self.settings.service.key_prefix
        now = time.time()
        ages: dict[str, float] = {}
        for queue in QUEUES:
            oldest = 0.0
            for key in [prefix + queue] + [f"{prefix}{queue}\x06\x16{p}" for p in range(1, 10)]:
                raw = self._redis.lindex(key, -1)
                sent = _sent_at(raw) if raw is not None else None
                if sent is not None:
                    oldest = max(oldest, now - sent)
            ages[queue] = round(oldest, 3)
        return ages

    def heartbeats(self) -> list[presence.Heartbeat]:
        return presence.read(self._redis, self.settings.service.key_prefix)

    def broker_run_id(self) -> str | None:
        """Redis's run id: it changes when Redis restarts (its queues may be lost)."""
        info: dict[str, Any] = self._redis.info("server")
        run_id = info.get("run_id")
        return str(run_id) if run_id is not None else None

    def ping(self) -> None:
        self._redis.ping()

    def close(self) -> None:
        self._redis.close()


class InProcessDispatcher:
    """Thread pools sized like the worker pools; retries are rescheduled with a timer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.streams: Streams = MemoryStreams()
        service = settings.service
        self._pools = {
            EXTRACT_QUEUE: ThreadPoolExecutor(service.extract_concurrency, "shipdoc-extract"),
            INTERACTIVE_QUEUE: ThreadPoolExecutor(
                service.interactive_concurrency, "shipdoc-interactive"
            ),
            KB_QUEUE: ThreadPoolExecutor(service.kb_concurrency, "shipdoc-kb"),
        }
        self._lock = threading.Lock()
        self._waiting = dict.fromkeys(QUEUES, 0)
        self._sent: dict[str, list[float]] = {q: [] for q in QUEUES}
        self._timers: set[threading.Timer] = set()
        self._closed = False
        self._run_id = uuid.uuid4().hex
        # The queue lives in this process: at start the reconciler takes up everything the
        # last process left unfinished (claims make it safe if another still works on some).
        self.reconciler = Reconciler(
            settings, self, extract_queue=EXTRACT_QUEUE, queue_dies_with_process=True
        )
        self._webhooks: DeliveryLoop | None = None

    def start_webhooks(self) -> None:
        """Deliver webhooks from this process (the embedded default has no webhooks worker)."""
        if self._webhooks is None:
            self._webhooks = DeliveryLoop(self.settings).start()

    def _submit(self, queue: str, fn: Any, *args: Any) -> None:
        with self._lock:
            if self._closed:
                return
            self._waiting[queue] += 1
            sent = time.monotonic()
            self._sent[queue].append(sent)
        with enqueue_span(TASK_OF_QUEUE[queue], queue):
            headers = telemetry.inject_headers()

        def run() -> None:
            with self._lock:
                self._waiting[queue] -= 1
                self._sent[queue].remove(sent)
            try:
                with telemetry.extracted(headers):
                    fn(*args)
            except Exception:
                log.exception("in-process task on %s failed", queue)

        self._pools[queue].submit(run)

    def submit_document(self, document_id: int) -> None:
        self._submit(EXTRACT_QUEUE, self._process, document_id)

    def _process(self, document_id: int) -> None:
        worker = f"inproc:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        try:
            process_document(document_id, settings=self.settings, worker=worker)
        except RetryLater as exc:
            self._later(exc.countdown_s, document_id)

    def _later(self, delay_s: float, document_id: int) -> None:
        timer = threading.Timer(delay_s, self._fire, args=(document_id,))
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._timers.add(timer)
        timer.start()

    def _fire(self, document_id: int) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive()}
        self.submit_document(document_id)

    def submit_chat(self, job: ChatJob) -> None:
        self._submit(INTERACTIVE_QUEUE, self._chat, job)

    def _chat(self, job: ChatJob) -> None:
        run_chat(job, settings=self.settings, streams=self.streams)

    def submit_kb_ingest(self) -> None:
        self._submit(KB_QUEUE, ingest_docs, self.settings)

    def queue_depths(self) -> dict[str, int]:
        with self._lock:
            return dict(self._waiting)

    def queue_ages(self) -> dict[str, float]:
        now = time.monotonic()
        with self._lock:
            return {q: round(now - min(t), 3) if t else 0.0 for q, t in self._sent.items()}

    def heartbeats(self) -> list[presence.Heartbeat]:
        """The thread pools of this process are its workers: alive while it answers."""
        with self._lock:
            if self._closed:
                return []
        name = f"inproc-{os.getpid()}"
        return [presence.Heartbeat(f"{q}-{name}", q, 0.0, True) for q in QUEUES]

    def broker_run_id(self) -> str | None:
        return self._run_id

    def ping(self) -> None:
        return None

    def close(self) -> None:
        self.reconciler.stop()
        with self._lock:
            self._closed = True
            timers = list(self._timers)
        for timer in timers:
            timer.cancel()
        if self._webhooks is not None:
            self._webhooks.stop()
        for pool in self._pools.values():
            pool.shutdown(wait=True, cancel_futures=True)


def make_dispatcher(settings: Settings) -> Dispatcher:
    if settings.service.broker_url:
        return CeleryDispatcher(settings)
    dispatcher = InProcessDispatcher(settings)
    dispatcher.start_webhooks()
    dispatcher.reconciler.start()
    return dispatcher
