"""The Celery application: Redis broker, one queue per workload, at-least-once delivery.

``acks_late`` with ``reject_on_worker_lost`` means a task is acknowledged only after it
ran, so a worker killed mid-task leaves the message to be delivered again; the ``jobs``
claim (workers/jobs.py) makes that redelivery harmless.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from core.errors import ConfigurationError
from core.settings import Settings

EXTRACT_QUEUE = "extract"
INTERACTIVE_QUEUE = "interactive"
KB_QUEUE = "kb"
WEBHOOKS_QUEUE = "webhooks"
QUEUES = (EXTRACT_QUEUE, INTERACTIVE_QUEUE, KB_QUEUE, WEBHOOKS_QUEUE)

PROCESS_DOCUMENT = "shipdoc.process_document"
CHAT = "shipdoc.chat"
KB_INGEST = "shipdoc.kb_ingest"
DELIVER_WEBHOOKS = "shipdoc.webhooks.deliver_due"

ROUTES: dict[str, dict[str, Any]] = {
    PROCESS_DOCUMENT: {"queue": EXTRACT_QUEUE},
    CHAT: {"queue": INTERACTIVE_QUEUE},
    KB_INGEST: {"queue": KB_QUEUE},
    DELIVER_WEBHOOKS: {"queue": WEBHOOKS_QUEUE},
}


def build_app(settings: Settings) -> Celery:
    service = settings.service
    if not service.broker_url:
        raise ConfigurationError("no broker configured: set SHIPDOC_SERVICE__BROKER_URL")
    app = Celery("shipdoc", broker=service.broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One message at a time per process: a long extraction never holds a second one
        # hostage, and a killed process loses (and gets redelivered) only its own task.
        worker_prefetch_multiplier=1,
        worker_max_tasks_per_child=service.max_tasks_per_child,
        task_routes=ROUTES,
        task_default_queue=EXTRACT_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": service.visibility_timeout_s,
            "global_keyprefix": service.key_prefix,
            # kombu sweeps for unacked messages of dead workers every interval x throttle
            # seconds (default 10 x 10): a task lost with its worker would wait up to 100 s
            # beyond the visibility timeout. Sweep every interval instead (one cheap ZRANGE),
            # and never let a dead sweeper's mutex outlive the visibility timeout.
            "unacked_restore_interval": max(1, min(10, service.visibility_timeout_s // 2)),
            "unacked_restore_throttle": 1,
            "unacked_mutex_expire": max(1, min(300, service.visibility_timeout_s)),
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # The webhooks worker runs beat embedded (`shipdoc worker -Q webhooks`): it sends
        # itself "deliver what is due" every poll interval; claims in the database make
        # overlapping runs (or several webhooks workers) harmless.
        beat_schedule={
            "webhooks-deliver-due": {
                "task": DELIVER_WEBHOOKS,
                "schedule": settings.webhooks.poll_interval_s,
                "options": {
                    "queue": WEBHOOKS_QUEUE,
                    "expires": max(5.0, settings.webhooks.poll_interval_s * 5),
                },
            }
        },
    )
    return app
