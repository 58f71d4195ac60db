"""Processing one document: parse, then extract. The same function runs in a Celery worker
and in the in-process executor; neither repeats a completed document.

Failures are sorted three ways:

* transient (model 5xx / timeout, database connection lost, anything unexpected): the
  key is released and ``RetryLater`` tells the caller when to try again, with exponential
  backoff, until ``max_attempts`` is used up;
* final (a non-transient shipdoc error such as a configuration error): the document ends
  ``failed`` with that error at once;
* bad input is not a failure here: parsing stores it as ``rejected``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.trace import SpanKind
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, OperationalError

from agent.models.base import ModelError
from agent.pipeline import extract_document
from core import telemetry
from core.db import session_scope
from core.errors import ShipdocError
from core.events import EventType, document_payload, emit_event
from core.models import AgentRun, Document, DocumentStatus, utcnow
from core.settings import Settings
from tools.intake import parse_document
from workers import jobs

log = logging.getLogger(__name__)

DOCUMENT_KIND = "document"
FINAL_STATUSES = frozenset(
    {
        DocumentStatus.EXTRACTED,
        DocumentStatus.NEEDS_REVIEW,
        DocumentStatus.REJECTED,
        DocumentStatus.FAILED,
    }
)


class RetryLater(Exception):
    """The attempt did not finish; run the task again after ``countdown_s``."""

    def __init__(self, countdown_s: float, reason: str) -> None:
        super().__init__(reason)
        self.countdown_s = countdown_s
        self.reason = reason


@dataclass(frozen=True)
class TaskResult:
    document_id: int
    outcome: str
    attempts: int


def backoff_s(settings: Settings, attempt: int) -> float:
    """Exponential backoff: base * 2^(attempt-1), capped."""
    service = settings.service
    return float(
        min(service.retry_backoff_s * 2 ** max(attempt - 1, 0), service.retry_backoff_max_s)
    )


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ModelError):
        return exc.transient
    if isinstance(exc, OperationalError | DBAPIError):
        return True
    # Our own deliberate errors (configuration, missing dependency) will not heal by
    # themselves; anything else unexpected gets the bounded retries of a poison document.
    return not isinstance(exc, ShipdocError)


def process_document(document_id: int, *, settings: Settings, worker: str) -> TaskResult:
    """Parse and extract one document, at most once to completion (see module docstring)."""
    attributes = {
        "messaging.system": "celery",
        "messaging.destination.name": "extract",
        "shipdoc.document_id": document_id,
    }
    with telemetry.span("process document", attributes, kind=SpanKind.CONSUMER) as span:
        try:
            result = _process(document_id, settings, worker)
        except RetryLater as exc:
            span.set_attribute("shipdoc.retry_in_s", exc.countdown_s)
            raise
        span.set_attribute("shipdoc.outcome", str(result.outcome))
        span.set_attribute("shipdoc.attempt", result.attempts)
        return result


def _process(document_id: int, settings: Settings, worker: str) -> TaskResult:
    url = settings.database_url
    key = jobs.document_key(document_id)
    service = settings.service
    try:
        claim = jobs.claim(
            url, key, worker=worker, lease_s=service.lease_s, max_attempts=service.max_attempts
        )
    except LookupError:  # queued by something other than the API: create the row first
        jobs.ensure_job(url, key, DOCUMENT_KIND, document_id)
        claim = jobs.claim(
            url, key, worker=worker, lease_s=service.lease_s, max_attempts=service.max_attempts
        )
    if claim.result is jobs.ClaimResult.DONE:
        return TaskResult(document_id, "already_done", claim.attempts)
    if claim.result is jobs.ClaimResult.BUSY:
        raise RetryLater(claim.wait_s + 0.5, f"{key} is held by another worker")
    if claim.result is jobs.ClaimResult.EXHAUSTED:
        _fail_document(document_id, "attempts_exhausted", claim.last_error or "", settings)
        return TaskResult(document_id, DocumentStatus.FAILED, claim.attempts)
    timings: dict[str, float] = {}
    try:
        with jobs.heartbeat(url, key, worker, service.lease_s):
            status = _run(document_id, settings, timings, retried=claim.attempts > 1)
    except Exception as exc:
        return _after_failure(document_id, key, exc, claim.attempts, timings, settings, worker)
    # A worker whose lease ran out (another took the key) leaves the outcome to the holder.
    if jobs.finish(url, key, timings, worker=worker):
        _after_done(document_id, settings)
    return TaskResult(document_id, status, claim.attempts)


# Called after a document's job is done (its outcome stored): shadow runs (evals/shadow.py,
# registered by the app layer). A hook's failure is logged and never changes the document.
AfterDocument = Callable[[Settings, int], None]
AFTER_DOCUMENT: list[AfterDocument] = []


def on_document_done(hook: AfterDocument) -> None:
    if hook not in AFTER_DOCUMENT:
        AFTER_DOCUMENT.append(hook)


def _after_done(document_id: int, settings: Settings) -> None:
    for hook in AFTER_DOCUMENT:
        try:
            hook(settings, document_id)
        except Exception:
            log.exception("after-document hook %s failed for document %s", hook, document_id)


def _run(document_id: int, settings: Settings, timings: dict[str, float], *, retried: bool) -> str:
    if retried:
        _reset_stale_parse(document_id, settings)
    started = time.perf_counter()
    parsed = parse_document(document_id, settings=settings)
    timings["parse_s"] = round(time.perf_counter() - started, 4)
    if parsed.status in FINAL_STATUSES:
        return parsed.status
    started = time.perf_counter()
    outcome = extract_document(document_id, settings=settings)
    timings["extract_s"] = round(time.perf_counter() - started, 4)
    return str(getattr(outcome, "status", "extracted"))


def _after_failure(
    document_id: int,
    key: str,
    exc: Exception,
    attempts: int,
    timings: dict[str, float],
    settings: Settings,
    worker: str,
) -> TaskResult:
    url = settings.database_url
    code = exc.code if isinstance(exc, ShipdocError) else type(exc).__name__
    message = str(exc) or type(exc).__name__
    if isinstance(exc, ModelError) and exc.transient:
        message = _outage_retry_or_give_up(document_id, key, exc, settings, worker)
    elif is_transient(exc) and attempts < settings.service.max_attempts:
        log.warning("document %s attempt %s failed (%s); retrying", document_id, attempts, message)
        jobs.release_for_retry(url, key, code, message, worker=worker)
        raise RetryLater(backoff_s(settings, attempts), message) from exc
    else:
        log.error("document %s failed after %s attempts: %s", document_id, attempts, message)
        if is_transient(exc):
            message = f"gave up after {attempts} attempts; last error: {message}"
    if jobs.fail(url, key, code, message, timings, worker=worker):
        _fail_document(document_id, code, message, settings)
    return TaskResult(document_id, DocumentStatus.FAILED, attempts)


def _outage_retry_or_give_up(
    document_id: int, key: str, exc: ModelError, settings: Settings, worker: str
) -> str:
    """A model outage (server down or restarting, circuit open) is retried for a bounded
    time, visibly (the job is ``retrying`` with how long so far), without using up attempts;
    returns the message to fail with once the time is up."""
    url = settings.database_url
    budget = settings.reliability.model_outage_budget_s
    outage = jobs.note_outage(url, key)
    if outage < budget:
        message = f"model unavailable for {outage:.0f} s (retrying for up to {budget:.0f} s): {exc}"
        log.warning("document %s: %s", document_id, message)
        jobs.release_for_retry(url, key, exc.code, message, worker=worker, outage=True)
        wait = min(settings.reliability.model_outage_retry_s, max(budget - outage, 1.0))
        raise RetryLater(wait, message) from exc
    log.error("document %s: model unavailable for %.0f s; giving up", document_id, outage)
    return f"gave up after the model was unavailable for {outage:.0f} s: {exc}"


def _reset_stale_parse(document_id: int, settings: Settings) -> None:
    """Undo what a lost worker left half done; we hold the key now, nobody else runs it.

    A document left ``parsing`` goes back to ``received``; an agent run left ``running``
    is closed as failed, so the runs table shows one completed run per page group.
    """
    with session_scope(settings.database_url) as session:
        session.execute(
            update(Document)
            .where(Document.id == document_id, Document.status == DocumentStatus.PARSING)
            .values(status=DocumentStatus.RECEIVED, updated_at=utcnow())
        )
        session.execute(
            update(AgentRun)
            .where(AgentRun.document_id == document_id, AgentRun.outcome == "running")
            .values(
                outcome="failed",
                error="worker lost mid-run; the document was run again",
                finished_at=utcnow(),
            )
        )


def _fail_document(document_id: int, code: str, message: str, settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        doc = session.get(Document, document_id)
        if doc is None:
            return
        already = doc.status == DocumentStatus.FAILED
        doc.status = DocumentStatus.FAILED
        doc.error_code = code[:64]
        doc.error_message = message
        doc.updated_at = utcnow()
        if not already:
            session.flush()
            emit_event(
                session, EventType.DOCUMENT_FAILED, document_payload(doc), document_id=doc.id
            )
