"""The reconciler: the database is the source of truth for work, the broker only a courier.

A document whose job is not final and not held by a live lease is queued again, so a lost
broker message (Redis restarted without persistence, a countdown retry that died with
its worker) costs a delay, never a document. It runs when a worker starts and every
``reliability.reconcile_interval_s`` after.

Which jobs it takes:

* ``running`` with an expired lease, and ``retrying``, untouched for ``reconcile_grace_s``
  (longer than any retry backoff): their message is gone or late;
* ``pending`` / ``queued`` ones likewise, but only when the broker cannot still hold their
  message: its extraction queue is empty, or the broker restarted (its run id changed).
  Otherwise a long backlog would be queued twice.
* At start, over a queue that died with the last process (the embedded in-process queue,
  ``queue_dies_with_process``): every job no live lease holds, at once (no grace). The
  reconciler is the one owner of this start-up queueing.

Taking a job is a conditional UPDATE of its ``updated_at`` (compare-and-set), so several
reconcilers (one per worker) do not queue the same document twice in one round. A
duplicate message is harmless anyway: the claim drops it (``workers/jobs``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, CursorResult, and_, or_, select, update

from core.db import session_scope
from core.models import Job, JobState, utcnow
from core.settings import Settings

log = logging.getLogger(__name__)

_WAITING = [JobState.PENDING, JobState.QUEUED]


class Courier(Protocol):
    """What the reconciler needs of a dispatcher."""

    def submit_document(self, document_id: int) -> None: ...

    def queue_depths(self) -> dict[str, int]: ...

    def broker_run_id(self) -> str | None: ...


def _stuck(now: Any, grace_s: float, include_waiting: bool) -> ColumnElement[bool]:
    lease_gone = or_(
        Job.state != JobState.RUNNING, Job.lease_until.is_(None), Job.lease_until <= now
    )
    kinds = [JobState.RUNNING, JobState.RETRYING, *(_WAITING if include_waiting else [])]
    return and_(
        Job.document_id.is_not(None),
        Job.state.in_(kinds),
        lease_gone,
        Job.updated_at <= now - timedelta(seconds=grace_s),
    )


def take_stuck(url: str, *, grace_s: float, include_waiting: bool, limit: int = 500) -> list[int]:
    """Documents to queue again (see the module docstring); each taken by one caller only."""
    now = utcnow()
    condition = _stuck(now, grace_s, include_waiting)
    with session_scope(url) as session:
        rows = session.execute(
            select(Job.id, Job.document_id).where(condition).order_by(Job.id).limit(limit)
        ).all()
        taken: list[int] = []
        for job_id, document_id in rows:
            result = session.execute(
                update(Job).where(Job.id == job_id, condition).values(updated_at=now, queued_at=now)
            )
            if cast(CursorResult[Any], result).rowcount and document_id is not None:
                taken.append(document_id)
    return taken


def requeue_one(url: str, document_id: int, key: str, lease_grace_s: float = 0.0) -> bool:
    """Whether a document's job may be queued again now (not final, no live lease); marks it.

    Re-upload and admin retry call this: what the runbook says they recover.
    """
    now = utcnow()
    condition = and_(Job.key == key, _stuck(now, lease_grace_s, include_waiting=True))
    with session_scope(url) as session:
        result = session.execute(update(Job).where(condition).values(updated_at=now, queued_at=now))
        return bool(cast(CursorResult[Any], result).rowcount)


class Reconciler:
    """Runs ``take_stuck`` at start and every interval, and queues what it took."""

    def __init__(
        self,
        settings: Settings,
        courier: Courier,
        *,
        extract_queue: str = "extract",
        queue_dies_with_process: bool = False,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.courier = courier
        self.extract_queue = extract_queue
        # The first round takes everything not held by a live lease: nothing was queued.
        self._fresh_queue = queue_dies_with_process
        self._stop = threading.Event()
        self._wait = sleep or self._stop.wait
        self._broker_id: str | None = None
        self._thread: threading.Thread | None = None
        self.requeued = 0

    def run_once(self) -> list[int]:
        reliability = self.settings.reliability
        try:
            broker_id = self.courier.broker_run_id()
            restarted = self._fresh_queue or (
                self._broker_id is not None and broker_id != self._broker_id
            )
            self._broker_id = broker_id
            empty = self.courier.queue_depths().get(self.extract_queue, 0) == 0
            ids = take_stuck(
                self.settings.database_url,
                grace_s=0.0 if restarted else reliability.reconcile_grace_s,
                include_waiting=restarted or empty,
            )
        except Exception as exc:  # the database or the broker is down: next round
            log.warning("reconciler: round skipped: %s", exc)
            return []
        self._fresh_queue = False
        for document_id in ids:
            try:
                self.courier.submit_document(document_id)
            except Exception as exc:
                log.warning("reconciler: could not queue document %s: %s", document_id, exc)
                return ids
        if ids:
            self.requeued += len(ids)
            log.warning("reconciler: queued %s stuck document(s) again: %s", len(ids), ids[:20])
        return ids

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="shipdoc-reconciler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        interval = self.settings.reliability.reconcile_interval_s
        while True:
            self.run_once()
            if self._wait(interval):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
