"""Idempotency and attempt bookkeeping for queued work (the ``jobs`` table).

Every unit of work has a unique key (``document:<id>`` for a document's processing). A
delivery of the task first *claims* the key:

* a key that is ``done`` or ``failed`` is never run again (a redelivered or duplicated
  message is acknowledged and dropped);
* a key held by a live worker (its lease has not run out) is left alone, and the new copy
  of the message retries later;
* otherwise the attempt counter goes up and the caller holds the lease, which a heartbeat
  renews while the work runs. A worker killed mid-task stops renewing, so the redelivered
  message can claim the key once the lease has run out;
* a key that has used up its attempts ends ``failed`` with the last error: a poison
  document that kills its worker every time ends there too.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db import session_scope
from core.models import Document, DocumentStatus, Job, JobState, Page, utcnow

log = logging.getLogger(__name__)


class ClaimResult(enum.StrEnum):
    RUN = "run"
    DONE = "done"
    BUSY = "busy"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class Claim:
    result: ClaimResult
    attempts: int
    wait_s: float = 0.0
    last_error: str | None = None


def document_key(document_id: int) -> str:
    return f"document:{document_id}"


def ensure_job(url: str, key: str, kind: str, document_id: int | None = None) -> Job:
    """The job row of ``key``, created ``pending`` if it does not exist yet."""
    with session_scope(url) as session:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        now = utcnow()
        session.execute(
            insert(Job)
            .values(
                key=key,
                kind=kind,
                document_id=document_id,
                state=JobState.PENDING.value,
                attempts=0,
                timings={},
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
        return session.scalars(select(Job).where(Job.key == key)).one()


def mark_queued(url: str, key: str) -> None:
    with session_scope(url) as session:
        session.execute(
            update(Job)
            .where(Job.key == key, Job.state == JobState.PENDING)
            .values(state=JobState.QUEUED, queued_at=utcnow(), updated_at=utcnow())
        )


def claim(url: str, key: str, *, worker: str, lease_s: float, max_attempts: int) -> Claim:
    """Try to take ``key`` for one attempt (see the module docstring).

    Taking the key is one conditional UPDATE (compare-and-set), so two deliveries racing
    for it cannot both win, on PostgreSQL (row lock, re-checked condition) and on SQLite
    (one writer at a time) alike.
    """
    for _ in range(3):
        now = utcnow()
        unfinished = Job.state.not_in([JobState.DONE, JobState.FAILED])
        free = or_(Job.state != JobState.RUNNING, Job.lease_until.is_(None), Job.lease_until <= now)
        with session_scope(url) as session:
            result = session.execute(
                update(Job)
                .where(Job.key == key, unfinished, free, Job.attempts < max_attempts)
                .values(
                    attempts=Job.attempts + 1,
                    state=JobState.RUNNING,
                    worker=worker[:200],
                    lease_until=now + timedelta(seconds=lease_s),
                    started_at=now,
                    queued_at=func.coalesce(Job.queued_at, now),
                    updated_at=now,
                )
            )
            job = session.scalars(select(Job).where(Job.key == key)).first()
        if job is None:
            raise LookupError(f"no job {key!r}")
        if cast(CursorResult[Any], result).rowcount:
            return Claim(ClaimResult.RUN, job.attempts, last_error=job.error_message)
        if job.state in (JobState.DONE, JobState.FAILED):
            return Claim(ClaimResult.DONE, job.attempts)
        if job.state == JobState.RUNNING and job.lease_until is not None:
            left = (job.lease_until - now).total_seconds()
            if left > 0:
                return Claim(ClaimResult.BUSY, job.attempts, wait_s=left)
        if job.attempts >= max_attempts and _give_up(url, key, job, max_attempts, now):
            return Claim(ClaimResult.EXHAUSTED, job.attempts, last_error=_gave_up_message(job))
    # The row changed under us three times in a row: let the caller try again shortly.
    return Claim(ClaimResult.BUSY, 0, wait_s=1.0)


def _gave_up_message(job: Job) -> str:
    lost = job.state == JobState.RUNNING
    last = "the worker was lost mid-task" if lost else (job.error_message or "unknown")
    return f"gave up after {job.attempts} attempts; last error: {last}"


def _give_up(url: str, key: str, job: Job, max_attempts: int, now: datetime) -> bool:
    lost = job.state == JobState.RUNNING
    with session_scope(url) as session:
        result = session.execute(
            update(Job)
            .where(
                Job.key == key,
                Job.state == job.state,
                Job.attempts >= max_attempts,
                or_(Job.lease_until.is_(None), Job.lease_until <= now),
            )
            .values(
                state=JobState.FAILED,
                error_code="worker_lost" if lost else (job.error_code or "attempts_exhausted"),
                error_message=_gave_up_message(job),
                finished_at=now,
                lease_until=None,
                updated_at=now,
            )
        )
    return bool(cast(CursorResult[Any], result).rowcount)


def _held_by(worker: str) -> list[ColumnElement[bool]]:
    """The job is running under ``worker`` (the name as ``claim`` stored it)."""
    return [Job.worker == worker[:200], Job.state == JobState.RUNNING]


def renew(url: str, key: str, worker: str, lease_s: float) -> bool:
    """Extend the lease this worker holds; False if it no longer holds it."""
    with session_scope(url) as session:
        result = session.execute(
            update(Job)
            .where(Job.key == key, *_held_by(worker))
            .values(lease_until=utcnow() + timedelta(seconds=lease_s))
        )
        changed = cast(CursorResult[Any], result).rowcount
    return bool(changed)


class Lease:
    """What the heartbeat learned: ``lost`` once another worker holds the key."""

    def __init__(self) -> None:
        self.lost = threading.Event()
        self.renew_errors = 0


@contextmanager
def heartbeat(url: str, key: str, worker: str, lease_s: float) -> Iterator[Lease]:
    """Renew the lease every ``lease_s / 3`` seconds while the block runs.

    A renewal that finds the lease gone (another worker took the key after it ran out)
    sets ``lease.lost`` and stops; a database error is logged and the next beat tries again
    (the heartbeat does not die with it).
    """
    stop = threading.Event()
    lease = Lease()

    def beat() -> None:
        while not stop.wait(lease_s / 3):
            try:
                held = renew(url, key, worker, lease_s)
            except Exception as exc:
                lease.renew_errors += 1
                log.warning("lease %s: renewal failed (%s); retrying", key, exc)
                continue
            if not held:
                lease.lost.set()
                log.error("lease %s: lost to another worker; this attempt's result is dropped", key)
                return

    thread = threading.Thread(target=beat, name=f"lease-{key}", daemon=True)
    thread.start()
    try:
        yield lease
    finally:
        stop.set()
        thread.join()


def finish(url: str, key: str, timings: dict[str, Any], *, worker: str | None = None) -> bool:
    """End the job ``done``; with ``worker``, only while that worker holds it."""
    return _end(url, key, JobState.DONE, None, None, timings, worker)


def fail(
    url: str,
    key: str,
    code: str,
    message: str,
    timings: dict[str, Any],
    *,
    worker: str | None = None,
) -> bool:
    """End the job ``failed``; with ``worker``, only while that worker holds it."""
    return _end(url, key, JobState.FAILED, code, message, timings, worker)


def release_for_retry(
    url: str, key: str, code: str, message: str, *, worker: str | None = None, outage: bool = False
) -> bool:
    """Hand the key back after a transient failure; the retry claims it again.

    ``outage``: the model was unavailable. The attempt is given back (an outage is bounded
    by time, not attempts) and the outage's start (``note_outage``) is kept. Any other
    retry ends the outage: the next one starts from zero.
    """
    owner = _held_by(worker) if worker is not None else [Job.state == JobState.RUNNING]
    with session_scope(url) as session:
        changes: dict[str, Any]
        if outage:
            changes = {"attempts": Job.attempts - 1}
        else:
            timings = session.scalar(select(Job.timings).where(Job.key == key)) or {}
            changes = {"timings": {k: v for k, v in timings.items() if k != OUTAGE_SINCE}}
        result = session.execute(
            update(Job)
            .where(Job.key == key, *owner)
            .values(
                state=JobState.RETRYING,
                lease_until=None,
                error_code=code[:64],
                error_message=message,
                updated_at=utcnow(),
                **changes,
            )
        )
    return bool(cast(CursorResult[Any], result).rowcount)


def _end(
    url: str,
    key: str,
    state: JobState,
    code: str | None,
    message: str | None,
    timings: dict[str, Any],
    worker: str | None = None,
) -> bool:
    owner = _held_by(worker) if worker is not None else []
    with session_scope(url) as session:
        result = session.execute(
            update(Job)
            .where(Job.key == key, *owner)
            .values(
                state=state,
                lease_until=None,
                error_code=code[:64] if code else None,
                error_message=message,
                timings=timings,
                finished_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    ended = bool(cast(CursorResult[Any], result).rowcount)
    if not ended:
        log.warning("job %s: not ended %s: %s no longer holds it", key, state.value, worker)
    return ended


# The start of the model outage of a job's consecutive attempts (``note_outage``).
OUTAGE_SINCE = "model_outage_since"


def note_outage(url: str, key: str) -> float:
    """Seconds since the model outage of this job's attempts began (started now if new).

    An outage spans consecutive attempts that each ended with the model unavailable: an
    attempt that ends any other way (done, failed, an ordinary retry) ends it, as the
    ``timings`` of a finished attempt and ``release_for_retry`` drop its start."""
    now = time.time()
    with session_scope(url) as session:
        job = session.scalars(select(Job).where(Job.key == key)).first()
        if job is None:
            return 0.0
        timings = dict(job.timings or {})
        since = float(timings.setdefault(OUTAGE_SINCE, now))
        job.timings = timings
    return max(now - since, 0.0)


def get_job(url: str, key: str) -> Job | None:
    with session_scope(url) as session:
        return session.scalars(select(Job).where(Job.key == key)).first()


def reset_failed(url: str, document_id: int) -> bool:
    """Make a failed document's job ``pending`` with fresh attempts; False if it has not failed.

    The document goes back to ``parsed`` when its pages are stored (extraction runs again),
    else to ``received`` (parsing runs again).
    """
    key = document_key(document_id)
    with session_scope(url) as session:
        doc = session.get(Document, document_id, with_for_update=True)
        if doc is None or doc.status != DocumentStatus.FAILED:
            return False
        result = session.execute(
            update(Job)
            # A document can fail while its job ends ``done`` (no readable text, a model
            # that produced nothing usable): either way the document is what is retried.
            .where(Job.key == key, Job.state.in_([JobState.FAILED, JobState.DONE]))
            .values(
                state=JobState.PENDING,
                attempts=0,
                error_code=None,
                error_message=None,
                lease_until=None,
                finished_at=None,
                updated_at=utcnow(),
            )
        )
        if not cast(CursorResult[Any], result).rowcount:
            return False
        has_pages = session.scalars(select(Page.id).where(Page.document_id == document_id)).first()
        doc.status = DocumentStatus.PARSED if has_pages is not None else DocumentStatus.RECEIVED
        doc.error_code = None
        doc.error_message = None
    return True
