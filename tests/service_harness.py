"""Helpers of the service tests: settings for a run, a real worker process, waiting."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, SecretStr

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_reachable(url: str) -> bool:
    """Whether a PostgreSQL server accepts a connection to ``url``."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def settings_env(model: BaseModel, prefix: str = "SHIPDOC_") -> dict[str, str]:
    """Every field of ``model`` as the environment variable that sets it (nested groups
    joined with ``__``, lists as JSON, secrets in clear); unset optional fields are left out."""
    env: dict[str, str] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        key = f"{prefix}{name.upper()}"
        if isinstance(value, BaseModel):
            env.update(settings_env(value, f"{key}__"))
        elif isinstance(value, SecretStr):
            env[key] = value.get_secret_value()
        elif isinstance(value, list | dict):
            env[key] = json.dumps(value)
        elif value is not None:
            env[key] = str(value)
    return env


def service_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process the same settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPDOC_")}
    env.update(settings_env(settings))
    env["PYTHONUNBUFFERED"] = "1"
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
