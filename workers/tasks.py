"""Celery tasks: each wraps one plain function, so the in-process executor runs the same code.

The worker imports this module (``shipdoc worker``); the API only sends task names.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from celery import Task
from celery.signals import worker_process_shutdown

from core import telemetry
from core.settings import get_settings
from workers.celery_app import CHAT, DELIVER_WEBHOOKS, KB_INGEST, PROCESS_DOCUMENT, build_app
from workers.chat import ChatJob, run_chat
from workers.kb_ingest import ingest_docs
from workers.processing import RetryLater, process_document
from workers.streams import RedisStreams
from workers.webhooks.delivery import deliver_due

settings = get_settings()
celery_app = build_app(settings)
# Spans go to OTEL_EXPORTER_OTLP_ENDPOINT when it is set; the SDK's batch exporter restarts
# its thread in each forked pool child.
telemetry.configure(settings.telemetry)


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _child_exit(pid: int | None = None, **_: Any) -> None:
    """A recycled pool child's live gauges leave the multiprocess metrics with it."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]


def _trace_headers(task: Task) -> dict[str, str]:
    """The sender's trace context: Celery merges custom message headers into the request."""
    found = {key: task.request.get(key) for key in ("traceparent", "tracestate")}
    return {k: v for k, v in found.items() if isinstance(v, str)}


def _worker_id(task: Task) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{task.request.id}"


@celery_app.task(bind=True, name=PROCESS_DOCUMENT, max_retries=None)  # type: ignore[untyped-decorator]
def process_document_task(self: Task, document_id: int) -> dict[str, Any]:
    try:
        with telemetry.extracted(_trace_headers(self)):
            result = process_document(document_id, settings=settings, worker=_worker_id(self))
    except RetryLater as exc:
        raise self.retry(countdown=exc.countdown_s, exc=exc) from exc
    return {"document_id": result.document_id, "outcome": result.outcome}


@celery_app.task(bind=True, name=CHAT, max_retries=0)  # type: ignore[untyped-decorator]
def chat_task(self: Task, job: dict[str, Any]) -> None:
    with telemetry.extracted(_trace_headers(self)):
        run_chat(ChatJob.model_validate(job), settings=settings, streams=RedisStreams(settings))


@celery_app.task(bind=True, name=KB_INGEST, max_retries=0)  # type: ignore[untyped-decorator]
def kb_ingest_task(self: Task) -> dict[str, Any]:
    return ingest_docs(settings)


@celery_app.task(bind=True, name=DELIVER_WEBHOOKS, max_retries=0)  # type: ignore[untyped-decorator]
def deliver_webhooks_task(self: Task) -> int:
    """Send the webhook deliveries that are due (the schedule is in the database)."""
    return deliver_due(settings)
