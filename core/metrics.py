"""Prometheus instruments kept in the process that does the work.

The API's ``/metrics`` serves these beside the figures it reads from the database and the
broker at scrape time (app/api/metrics.py). A Celery worker serves its own on
``SHIPDOC_TELEMETRY__WORKER_METRICS_PORT``; its prefork children share them through
prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by
``shipdoc worker`` before any child starts).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from prometheus_client import Counter, Gauge, Histogram

STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

MODEL_REQUESTS = Counter(
    "shipdoc_model_requests",
    "Model requests by model, purpose and result (ok or the error code)",
    ["model", "purpose", "result"],
)
MODEL_TOKENS = Counter(
    "shipdoc_model_request_tokens",
    "Model tokens by model, purpose and kind (input, output)",
    ["model", "purpose", "kind"],
)
MODEL_COST = Counter(
    "shipdoc_model_cost_usd", "Model spend in USD by model and purpose", ["model", "purpose"]
)
MODEL_SECONDS = Histogram(
    "shipdoc_model_request_seconds",
    "Model request latency by model and purpose",
    ["model", "purpose"],
    buckets=STAGE_BUCKETS,
)
FALLBACKS = Counter(
    "shipdoc_model_fallbacks",
    "Requests that went to the fallback model after the primary failed",
    ["primary", "fallback"],
)
STAGE_SECONDS = Histogram(
    "shipdoc_stage_seconds",
    "Latency of each processing stage (parse, ocr_page, classify, extract, write_back)",
    ["stage"],
    buckets=STAGE_BUCKETS,
)
RETRIEVAL_SECONDS = Histogram(
    "shipdoc_retrieval_seconds",
    "Knowledge-base search latency by collection",
    ["collection"],
    buckets=FAST_BUCKETS,
)
EMBEDDING_GUARD = Gauge(
    "shipdoc_embedding_guard_ok",
    "1 when the collections match the configured embedder, 0 on a mismatch",
    multiprocess_mode="liveall",
)
WORKER_READY = Gauge(
    "shipdoc_worker_ready",
    "1 once the worker's warm-up request answered",
    ["queue"],
    multiprocess_mode="liveall",
)
ROUTE_DECISIONS = Counter(
    "shipdoc_route_decisions", "Documents routed to each model tier", ["tier"]
)
SHADOW_RUNS = Counter(
    "shipdoc_shadow_runs", "Shadow runs of the candidate model by result", ["model", "result"]
)

_purpose: ContextVar[str] = ContextVar("shipdoc_model_purpose", default="extract")


def current_purpose() -> str:
    return _purpose.get()


@contextmanager
def purpose(name: str) -> Iterator[None]:
    """Model requests in the block are counted under ``name`` (extract, classify, shadow,
    eval, warmup); a request that offers tools counts as ``repair``."""
    token = _purpose.set(name)
    try:
        yield
    finally:
        _purpose.reset(token)


@contextmanager
def timed(stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(stage).observe(time.perf_counter() - started)
