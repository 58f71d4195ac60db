"""Scheduled work on the Celery app: the nightly eval (``shipdoc beat`` sends it, a ``kb``
queue worker runs it). Lives in the app layer because the task runs ``evals``."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.schedules import crontab

from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

NIGHTLY_EVAL = "shipdoc.eval_nightly"
NIGHTLY_QUEUE = "kb"


def register(celery_app: Celery) -> None:
    """The nightly eval task, on the ``kb`` queue (every worker knows it; a kb worker runs it).
    Its schedule is only ``shipdoc beat``'s (``schedule_nightly``): the webhooks worker's
    embedded beat keeps its own schedule and never sends the eval."""
    if NIGHTLY_EVAL in celery_app.tasks:
        return

    @celery_app.task(name=NIGHTLY_EVAL, max_retries=0)  # type: ignore[untyped-decorator]
    def eval_nightly() -> dict[str, Any]:
        from agent.models.factory import models_by_role
        from evals.nightly import run_nightly

        current = get_settings()
        report = run_nightly(current, models_by_role(current), current.var_dir / "eval-nightly")
        return {"batch": report.batch, "drifts": [d.model_dump() for d in report.drifts]}

    celery_app.conf.task_routes = {
        **dict(celery_app.conf.task_routes or {}),
        NIGHTLY_EVAL: {"queue": NIGHTLY_QUEUE},
    }


def schedule_nightly(celery_app: Celery, settings: Settings) -> None:
    """``shipdoc beat``'s schedule: the nightly eval at ``SHIPDOC_OPS__NIGHTLY_HOUR`` UTC."""
    register(celery_app)
    celery_app.conf.beat_schedule = {
        "nightly-eval": {
            "task": NIGHTLY_EVAL,
            "schedule": crontab(hour=settings.ops.nightly_hour, minute=0),
            "options": {"queue": NIGHTLY_QUEUE},
        }
    }
    celery_app.conf.timezone = "UTC"
