"""``shipdoc serve`` (the HTTP API under uvicorn) and ``shipdoc worker`` (Celery)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from types import FrameType

import typer

from core.errors import ConfigurationError
from core.settings import Settings, get_settings

QUEUES_HELP = "comma-separated queues: extract, interactive, kb; one pool per queue"


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
    }[queue]


def worker_cmd(
    queues: str = typer.Option("extract,interactive,kb", "--queues", "-Q", help=QUEUES_HELP),
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


def _run_worker(settings: Settings, queue: str, concurrency: int, pool: str, level: str) -> None:
    from agent.prompting import prompt_version
    from kb.guard import check_embedder
    from kb.index import close_local_clients
    from workers.tasks import celery_app

    prompt_version()  # refuses to start without the prompt templates
    # Refuse to start against collections built by another embedder.
    check_embedder(settings)
    close_local_clients()
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
        ]
    )


def _supervise(queues: list[str], concurrency: int, pool: str, level: str) -> None:
    """One child worker per queue; SIGTERM/SIGINT are passed on to all; waits for all."""
    base = [sys.executable, "-m", "app.cli", "worker", "--pool", pool, "--log-level", level]
    if concurrency:
        base += ["--concurrency", str(concurrency)]
    children = [subprocess.Popen([*base, "--queues", q]) for q in queues]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    if any(codes):
        raise typer.Exit(max(codes))
