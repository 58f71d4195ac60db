"""Helpers of the service tests: settings for a run, a real worker process, waiting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from core.settings import Settings

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]


def wait_for(
    condition: Callable[[], T | None], timeout_s: float, what: str, interval_s: float = 0.1
) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")
        time.sleep(interval_s)


def service_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process the same settings."""
    s = settings.service
    m = settings.model
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPDOC_")}
    env.update(
        {
            "SHIPDOC_ENVIRONMENT": "test",
            "SHIPDOC_VAR_DIR": str(settings.var_dir),
            "SHIPDOC_DATABASE_URL": settings.database_url,
            "SHIPDOC_SERVICE__BROKER_URL": s.broker_url,
            "SHIPDOC_SERVICE__KEY_PREFIX": s.key_prefix,
            "SHIPDOC_SERVICE__LEASE_S": str(s.lease_s),
            "SHIPDOC_SERVICE__VISIBILITY_TIMEOUT_S": str(s.visibility_timeout_s),
            "SHIPDOC_SERVICE__RETRY_BACKOFF_S": str(s.retry_backoff_s),
            "SHIPDOC_SERVICE__MAX_ATTEMPTS": str(s.max_attempts),
            "SHIPDOC_MODEL__BACKEND": m.backend,
            "SHIPDOC_MODEL__BASE_URL": m.base_url,
            "SHIPDOC_MODEL__NAME": m.name,
            "SHIPDOC_MODEL__RETRIES": str(m.retries),
            "SHIPDOC_MODEL__TIMEOUT_S": str(m.timeout_s),
            "SHIPDOC_MODEL__BREAKER_RESET_S": str(m.breaker_reset_s),
            **{
                f"SHIPDOC_RELIABILITY__{name.upper()}": str(value)
                for name, value in settings.reliability.model_dump().items()
            },
            "SHIPDOC_KB__QDRANT_PATH": str(settings.kb.qdrant_path or settings.var_dir / "qdrant"),
            "SHIPDOC_TELEMETRY__WARMUP": settings.telemetry.warmup,
            "SHIPDOC_TELEMETRY__WORKER_METRICS_PORT": str(settings.telemetry.worker_metrics_port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    hooks = settings.webhooks
    env.update(
        {
            "SHIPDOC_WEBHOOKS__ALLOW_NETWORKS": json.dumps(hooks.allow_networks),
            "SHIPDOC_WEBHOOKS__RETRY_SCHEDULE_S": json.dumps(hooks.retry_schedule_s),
            "SHIPDOC_WEBHOOKS__POLL_INTERVAL_S": str(hooks.poll_interval_s),
            "SHIPDOC_WEBHOOKS__CLAIM_LEASE_S": str(hooks.claim_lease_s),
        }
    )
    return env


class WorkerProcess:
    """``shipdoc worker`` in its own process group, so SIGKILL takes its pool children too."""

    def __init__(self, settings: Settings, log: Path, queues: str = "extract") -> None:
        self.log_path = log
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "worker",
                "--queues",
                queues,
                "--concurrency",
                "1",
                "--log-level",
                "info",
            ],
            cwd=ROOT,
            env=service_env(settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout_s: float = 60) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log()}")
            return " ready." in self.log()

        wait_for(ready, timeout_s, "the worker to be ready", 0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group: no warm shutdown, no acknowledgement."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self._log.close()


def auth(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}


def embedded_settings(var_dir: Path, model_url: str, **service: Any) -> Settings:
    """Embedded default (SQLite, in-process executor) with the simulated model."""
    return Settings(
        environment="test",
        var_dir=var_dir,
        model={"backend": "openai", "base_url": model_url, "name": "sim", "retries": 0},
        service=service,
    )
