"""Real dependencies for the fault suite, on their own ports, started and stopped by PID:
a Redis (with or without persistence) and a PostgreSQL cluster in a temporary directory."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import redis
import sqlalchemy as sa

from tests.service_harness import free_port, postgres_reachable, wait_for


class RedisProcess:
    def __init__(self, workdir: Path, *, persistent: bool) -> None:
        self.port = free_port()
        self.dir = workdir
        self.persistent = persistent
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        self.dir.mkdir(parents=True, exist_ok=True)
        persistence = (
            ["--appendonly", "yes"] if self.persistent else ["--save", "", "--appendonly", "no"]
        )
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                *persistence,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._up, 20, f"redis on port {self.port}", 0.1)
        return self

    def _up(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: what is not persisted is lost."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


class PostgresProcess:
    """``initdb`` + ``postgres`` as the postgres user (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        # Not under pytest's temporary directory: the postgres user cannot enter that.
        self.root = Path(tempfile.mkdtemp(prefix="shipdoc-faults-pg-"))
        os.chmod(self.root, 0o755)
        self.port = free_port()
        self.dir = self.root / "pgdata"
        self.sock = self.root / "pgsock"
        self.proc: subprocess.Popen[bytes] | None = None
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        self.bin = bins[-1] if bins else Path(shutil.which("postgres") or "postgres").parent

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/shipdoc"

    def _as_postgres(self, *cmd: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)

    def init(self) -> PostgresProcess:
        self.sock.mkdir(parents=True, exist_ok=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.sock, "postgres", "postgres")
        subprocess.run(
            self._as_postgres(
                str(self.bin / "initdb"),
                "-D",
                str(self.dir),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )
        self.start()
        admin = sa.create_engine(
            self.url.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0]
            + "/postgres",
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE shipdoc"))
        admin.dispose()
        return self

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self._as_postgres(
                str(self.bin / "postgres"),
                "-D",
                str(self.dir),
                "-p",
                str(self.port),
                "-k",
                str(self.sock),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._up, 30, f"postgres on port {self.port}", 0.2)

    def _up(self) -> bool:
        return postgres_reachable(self.url.rsplit("/", 1)[0] + "/postgres")

    def postmaster_pid(self) -> int | None:
        pid_file = self.dir / "postmaster.pid"
        if not pid_file.exists():
            return None
        return int(pid_file.read_text().splitlines()[0])

    def stop(self) -> None:
        """Fast shutdown of the postmaster, by its PID (runuser does not pass signals on)."""
        pid = self.postmaster_pid()
        if pid is not None:
            os.kill(pid, signal.SIGINT)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
