"""Delivery: claim due deliveries, POST each signed event, log the attempt, schedule the
retry, disable an endpoint that keeps failing.

The schedule lives in the database (``next_attempt_at``), so a restarted worker carries on
where the last one stopped, and a worker that dies holding a claim loses it after
``claim_lease_s``. Claims are compare-and-set on the attempt counter, so several delivery
loops (Celery workers, the embedded server) never send the same attempt twice. Delivery is
at least once: a receiver de-duplicates on ``webhook-id``, the event id.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import CursorResult, select, update

from core.db import session_scope
from core.events import AUTO_DISABLED, event_out, on_events_committed
from core.models import (
    DeliveryState,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from core.settings import Settings
from workers.webhooks.endpoints import signing_secrets
from workers.webhooks.signing import headers as signed_headers
from workers.webhooks.targets import Target, TargetRefused, check_target

log = logging.getLogger(__name__)
USER_AGENT = "shipdoc-webhooks/1"


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    number: int  # this attempt's number, 1-based


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: float
    excerpt: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def claim_due(settings: Settings, limit: int) -> list[Claim]:
    """Take up to ``limit`` due deliveries of enabled endpoints (oldest due first)."""
    now = utcnow()
    lease = timedelta(seconds=settings.webhooks.claim_lease_s)
    claims: list[Claim] = []
    with session_scope(settings.database_url) as session:
        due = session.execute(
            select(WebhookDelivery.id, WebhookDelivery.attempts)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.state == DeliveryState.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                WebhookEndpoint.enabled.is_(True),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        ).all()
        for delivery_id, attempts in due:
            result = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery_id,
                    WebhookDelivery.attempts == attempts,
                    WebhookDelivery.state == DeliveryState.PENDING,
                )
                .values(attempts=attempts + 1, next_attempt_at=now + lease)
            )
            if cast(CursorResult[Any], result).rowcount == 1:
                claims.append(Claim(delivery_id, attempts + 1))
    return claims


def message_body(event: Event) -> bytes:
    """The Standard Webhooks payload: ``{"type", "timestamp", "data"}`` (plus our ids)."""
    out = event_out(event)
    payload = {"id": out.id, "type": out.type, "timestamp": out.timestamp, "data": out.data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _pinned(target: Target) -> tuple[str, str]:
    """The URL with the checked address as host, and the Host header for the name."""
    parts = urlsplit(target.url)
    address = f"[{target.address}]" if ":" in target.address else target.address
    default = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default else f"{target.host}:{target.port}"
    url = urlunsplit((parts.scheme, f"{address}:{target.port}", parts.path or "/", parts.query, ""))
    return url, host_header


@lru_cache(maxsize=4)
def http_client(timeout_s: float) -> httpx.Client:
    """One client per process (thread-safe; building one costs tens of ms for its TLS
    context). Proxies from the environment are ignored: the checked address is the target."""
    return httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False)


def post(target: Target, headers: dict[str, str], body: bytes, settings: Settings) -> AttemptResult:
    """One POST to the checked address; never follows redirects, reads a bounded excerpt."""
    url, host_header = _pinned(target)
    limit = settings.webhooks.response_excerpt_chars
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    client = http_client(settings.webhooks.timeout_s)
    started = time.perf_counter()
    try:
        with (
            client.stream(
                "POST",
                url,
                content=body,
                headers={**headers, "host": host_header, "user-agent": USER_AGENT},
                extensions=extensions,
            ) as response,
        ):
            excerpt = b""
            for chunk in response.iter_bytes():
                excerpt += chunk
                if len(excerpt) >= limit:
                    break
            latency = (time.perf_counter() - started) * 1000
            text = excerpt[:limit].decode("utf-8", errors="replace")
            error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
            return AttemptResult(response.status_code, latency, text, error)
    except httpx.HTTPError as exc:
        latency = (time.perf_counter() - started) * 1000
        return AttemptResult(None, latency, "", f"{type(exc).__name__}: {exc}"[:500])


def deliver(settings: Settings, claim: Claim) -> AttemptResult:
    """Send one claimed delivery and record the attempt and what follows from it."""
    with session_scope(settings.database_url) as session:
        delivery = session.get_one(WebhookDelivery, claim.delivery_id)
        endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
        event = session.get_one(Event, delivery.event_id)
        body = message_body(event)
        now = utcnow()
        headers = signed_headers(
            signing_secrets(endpoint, now), event.event_id, int(now.timestamp()), body
        )
        url = endpoint.url
    try:
        target = check_target(url, settings.webhooks)
    except TargetRefused as exc:
        result = AttemptResult(None, 0.0, "", f"refused: {exc.message}")
    else:
        result = post(target, headers, body, settings)
    _record(settings, claim, result)
    return result


def _record(settings: Settings, claim: Claim, result: AttemptResult) -> None:
    hooks = settings.webhooks
    now = utcnow()
    with session_scope(settings.database_url) as session:
        delivery = session.get_one(WebhookDelivery, claim.delivery_id, with_for_update=True)
        endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id, with_for_update=True)
        session.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                number=claim.number,
                started_at=now,
                status_code=result.status_code,
                latency_ms=round(result.latency_ms, 2),
                response_excerpt=result.excerpt,
                error=result.error,
            )
        )
        if delivery.attempts != claim.number or delivery.state != DeliveryState.PENDING:
            return  # our claim ran out and another loop took the delivery: log only
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        if result.ok:
            delivery.state = DeliveryState.SUCCEEDED
            delivery.finished_at = now
            delivery.next_attempt_at = None
            endpoint.consecutive_failures = 0
            return
        schedule = hooks.retry_schedule_s
        if claim.number <= len(schedule):
            delivery.next_attempt_at = now + timedelta(seconds=schedule[claim.number - 1])
        else:
            delivery.state = DeliveryState.FAILED
            delivery.finished_at = now
            delivery.next_attempt_at = None
        endpoint.consecutive_failures += 1
        if endpoint.enabled and endpoint.consecutive_failures >= hooks.disable_after_failures:
            endpoint.enabled = False
            endpoint.disabled_at = now
            endpoint.disabled_reason = (
                f"{AUTO_DISABLED} {endpoint.consecutive_failures} failed attempts in a row; "
                f"last: {result.error}"
            )
            log.warning("webhook endpoint %s disabled: %s", endpoint.id, endpoint.disabled_reason)


def deliver_due(settings: Settings, pool: ThreadPoolExecutor | None = None) -> int:
    """Claim and send what is due now; returns how many attempts were made."""
    hooks = settings.webhooks
    claims = claim_due(settings, max(1, hooks.concurrency) * 4)
    if not claims:
        return 0
    if pool is None:
        with ThreadPoolExecutor(max(1, hooks.concurrency), "shipdoc-webhook") as own:
            list(own.map(lambda c: deliver(settings, c), claims))
    else:
        list(pool.map(lambda c: deliver(settings, c), claims))
    return len(claims)


class DeliveryLoop:
    """A thread that delivers due webhooks until stopped (embedded server, CLI, worker)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop = threading.Event()
        # Set when this process commits events: deliver now rather than at the next poll.
        self._wake = threading.Event()
        self._unsubscribe = on_events_committed(self._wake.set)
        self._pool = ThreadPoolExecutor(max(1, settings.webhooks.concurrency), "shipdoc-webhook")
        self._thread = threading.Thread(target=self.run, name="shipdoc-webhooks", daemon=True)

    def start(self) -> DeliveryLoop:
        self._thread.start()
        return self

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = deliver_due(self.settings, self._pool)
            except Exception:
                log.exception("webhook delivery loop failed; retrying")
                sent = 0
            if not sent:
                self._wake.wait(self.settings.webhooks.poll_interval_s)
                self._wake.clear()

    def stop(self) -> None:
        self._unsubscribe()
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.settings.webhooks.timeout_s + 5)
        self._pool.shutdown(wait=True, cancel_futures=True)
