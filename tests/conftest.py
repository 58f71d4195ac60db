"""Shared fixtures: isolated settings, real databases, and a guard against remote models."""

from __future__ import annotations

import ipaddress
import os
import shlex
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from core import migrate
from core.db import get_engine
from core.settings import Settings, get_settings
from tests.service_harness import postgres_reachable

POSTGRES_URL = os.environ.get(
    "SHIPDOC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SHIPDOC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


# --- no test may reach a remote host (a hosted model, a model hub) -------------------------

_real_connect = socket.socket.connect


def _is_local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise RuntimeError(
            f"test tried to reach the remote host {address!r}; tests may only use local servers"
        )
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_remote_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


# --- settings ------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings pointing every path at a fresh temporary directory."""
    monkeypatch.setenv("SHIPDOC_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SHIPDOC_ENVIRONMENT", "test")
    monkeypatch.delenv("SHIPDOC_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


# --- databases -----------------------------------------------------------------------------


def _try_start_postgres() -> None:
    if os.geteuid() != 0 or not shutil.which("pg_ctlcluster"):
        return
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    for version in versions:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
            capture_output=True,
        )


@pytest.fixture(scope="session")
def postgres_server() -> str:
    if not postgres_reachable(POSTGRES_URL):
        _try_start_postgres()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not postgres_reachable(POSTGRES_URL):
            time.sleep(0.5)
    if not postgres_reachable(POSTGRES_URL):
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL}; start it or set "
            "SHIPDOC_TEST_POSTGRES_URL (these tests never skip)",
            pytrace=False,
        )
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"shipdoc_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        postgres_server.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = postgres_server.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        get_engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shipdoc.db'}"


@pytest.fixture
def db(settings: Settings, sqlite_url: str) -> Iterator[Settings]:
    """The test's settings on a fresh SQLite database migrated to head."""
    migrate.upgrade(sqlite_url)
    yield settings.model_copy(update={"database_url": sqlite_url})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each kind, migrated to head."""
    url: str = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "postgres_url"
    )
    migrate.upgrade(url)
    return url


# --- redis ---------------------------------------------------------------------------------


def _redis_reachable(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _try_start_redis() -> None:
    if os.geteuid() != 0 or not shutil.which("redis-server"):
        return
    os.makedirs("/var/lib/redis", exist_ok=True)
    os.makedirs("/var/log/redis", exist_ok=True)
    subprocess.run(
        shlex.split(
            "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' "
            "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
        ),
        check=False,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis server the service tests use as broker (started here when we are root)."""
    if not _redis_reachable(REDIS_URL):
        _try_start_redis()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not _redis_reachable(REDIS_URL):
            time.sleep(0.2)
    if not _redis_reachable(REDIS_URL):
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL}; start it (apt-get install redis-server) or "
            "set SHIPDOC_TEST_REDIS_URL (these tests never skip)",
            pytrace=False,
        )
    return REDIS_URL
