"""``shipdoc serve`` (the HTTP API under uvicorn) and ``shipdoc worker`` (Celery)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from types import FrameType
from typing import Any

import typer

from core.errors import ConfigurationError
from core.settings import Settings, get_settings

QUEUES_HELP = "comma-separated queues: extract, interactive, kb, webhooks; one pool per queue"


def serve_cmd(
    host: str = typer.Option(None, help="bind address (default SHIPDOC_SERVICE__HOST)"),
    port: int = typer.Option(None, help="port (default SHIPDOC_SERVICE__PORT)"),
    log_level: str = typer.Option("info", help="uvicorn log level"),
) -> None:
    """Run the HTTP API (OpenAPI at /docs). Without a broker, uploads are processed in
    this process; with SHIPDOC_SERVICE__BROKER_URL they go to `shipdoc worker`."""
    import uvicorn

    from app.api import create_app

    settings = get_settings()
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings),
        host=host or settings.service.host,
        port=port or settings.service.port,
        log_level=log_level,
    )


def _concurrency(settings: Settings, queue: str) -> int:
    service = settings.service
    return {
        "extract": service.extract_concurrency,
        "interactive": service.interactive_concurrency,
        "kb": service.kb_concurrency,
        # one process; it sends settings.webhooks.concurrency deliveries at once in threads
        "webhooks": 1,
    }[queue]


def worker_cmd(
    queues: str = typer.Option(
        "extract,interactive,kb,webhooks", "--queues", "-Q", help=QUEUES_HELP
    ),
    concurrency: int = typer.Option(0, help="processes per pool (default: per-queue setting)"),
    pool: str = typer.Option("prefork", help="Celery pool: prefork, threads or solo"),
    log_level: str = typer.Option("info", help="Celery log level"),
) -> None:
    """Run Celery workers on the Redis broker. Several queues start one worker process per
    queue, so extraction and chat never share a pool."""
    from workers.celery_app import QUEUES

    settings = get_settings()
    if not settings.service.broker_url:
        raise ConfigurationError(
            "no broker configured: set SHIPDOC_SERVICE__BROKER_URL (e.g. redis://localhost:6379/0);"
            " without one `shipdoc serve` processes uploads itself"
        )
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in names if q not in QUEUES]
    if unknown or not names:
        raise ConfigurationError(f"unknown queue(s) {unknown or names}; expected {QUEUES}")
    if len(names) > 1:
        _supervise(names, concurrency, pool, log_level)
        return
    _run_worker(
        settings, names[0], concurrency or _concurrency(settings, names[0]), pool, log_level
    )


def _metrics_dir(settings: Settings, queue: str) -> None:
    """prometheus-client's multiprocess mode for the pool children: set before it is imported."""
    folder = settings.var_dir / "prometheus" / f"{queue}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def _serve_metrics(port: int) -> None:
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    start_http_server(port, registry=registry)


def _run_worker(settings: Settings, queue: str, concurrency: int, pool: str, level: str) -> None:
    port = settings.telemetry.worker_metrics_port
    if port:
        _metrics_dir(settings, queue)
    from agent.models import shared_model
    from agent.prompting import prompt_version
    from agent.warmup import warm_up
    from app import schedule
    from core import metrics
    from evals.shadow import after_document
    from kb.guard import check_embedder
    from kb.index import close_local_clients
    from workers.presence import HeartbeatThread
    from workers.processing import on_document_done
    from workers.streams import redis_client
    from workers.tasks import celery_app

    prompt_version()  # refuses to start without the prompt templates
    on_document_done(after_document)  # shadow runs of sampled documents (SHIPDOC_OPS__SHADOW*)
    schedule.register(celery_app)  # the nightly eval task (sent by `shipdoc beat`)
    if port:
        _serve_metrics(port)
    if queue != "webhooks":  # webhook delivery uses neither the index nor the model
        # Refuse to start against collections built by another embedder.
        check_embedder(settings)
        metrics.EMBEDDING_GUARD.set(1)
        close_local_clients()
    if queue == "extract":
        _reconcile_when_ready(settings, queue)
    heartbeat = HeartbeatThread(redis_client(settings), settings.service.key_prefix, queue).start()

    def warm() -> None:
        # Ready only after the model answered once (prefix cache warm). The in-process
        # llama.cpp model is not loaded in the parent of a prefork pool.
        mode = settings.telemetry.warmup
        needs_model = queue not in ("kb", "webhooks")
        if mode != "off" and needs_model and settings.model.backend != "local":
            model = shared_model(settings)
            if not warm_up(model, timeout_s=settings.telemetry.warmup_timeout_s).ok:
                return
        heartbeat.mark_ready()
        metrics.WORKER_READY.labels(queue).set(1)

    if settings.telemetry.warmup == "block":
        warm()
    else:
        threading.Thread(target=warm, name="warm-up", daemon=True).start()
    try:
        _worker_main(celery_app, settings, queue, concurrency, pool, level)
    finally:
        heartbeat.stop()


def _worker_main(
    celery_app: Any, settings: Settings, queue: str, concurrency: int, pool: str, level: str
) -> None:
    extra: list[str] = []
    if queue == "webhooks":
        # beat embedded: the periodic "deliver what is due" (see workers/celery_app.py); its
        # schedule file is only a cache of when the interval last fired
        beat_dir = settings.var_dir / "celerybeat"
        beat_dir.mkdir(parents=True, exist_ok=True)
        extra = ["--beat", "--schedule", str(beat_dir / f"webhooks-{os.getpid()}")]
    celery_app.worker_main(
        [
            "worker",
            "--queues",
            queue,
            "--hostname",
            f"{queue}-{os.getpid()}@%h",
            "--concurrency",
            str(concurrency),
            "--pool",
            pool,
            "--max-tasks-per-child",
            str(settings.service.max_tasks_per_child),
            "--loglevel",
            level.upper(),
            "--without-mingle",
            "--without-gossip",
            *extra,
        ]
    )


def _reconcile_when_ready(settings: Settings, queue: str) -> None:
    """Queue stuck documents again at worker start and periodically (workers/reconcile)."""
    from celery.signals import worker_ready

    from workers.dispatch import CeleryDispatcher
    from workers.reconcile import Reconciler

    def start(**_kwargs: object) -> None:
        Reconciler(settings, CeleryDispatcher(settings), extract_queue=queue).start()

    worker_ready.connect(start, weak=False)


def _supervise(queues: list[str], concurrency: int, pool: str, level: str) -> None:
    """One child worker per queue; SIGTERM/SIGINT are passed on to all; waits for all."""
    base = [sys.executable, "-m", "app.cli", "worker", "--pool", pool, "--log-level", level]
    if concurrency:
        base += ["--concurrency", str(concurrency)]
    port = get_settings().telemetry.worker_metrics_port
    children = [
        # One metrics port per queue's worker: the configured one, the next, ...
        subprocess.Popen(
            [*base, "--queues", q],
            env={**os.environ, "SHIPDOC_TELEMETRY__WORKER_METRICS_PORT": str(port + i)}
            if port
            else None,
        )
        for i, q in enumerate(queues)
    ]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    if any(codes):
        raise typer.Exit(max(codes))


def beat_cmd(
    log_level: str = typer.Option("info", help="Celery log level"),
) -> None:
    """Run Celery beat: sends the scheduled tasks (the nightly eval at
    SHIPDOC_OPS__NIGHTLY_HOUR UTC) to the broker; a `kb` queue worker runs them. Run one."""
    from app import schedule
    from workers.tasks import celery_app

    settings = get_settings()
    if not settings.service.broker_url:
        raise ConfigurationError("no broker configured: set SHIPDOC_SERVICE__BROKER_URL")
    schedule.schedule_nightly(celery_app, settings)
    state = settings.var_dir / "celerybeat-schedule"
    state.parent.mkdir(parents=True, exist_ok=True)
    celery_app.start(["beat", "--loglevel", log_level.upper(), "--schedule", str(state)])
