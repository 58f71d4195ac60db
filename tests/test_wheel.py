"""The installed wheel is the product: build it, install it into a throw-away virtualenv and
run what the README shows from a directory outside the checkout.

``pip wheel . --no-deps`` (on a copy of the tracked files, so the checkout is not written to),
a fresh venv with the wheel and its dependencies (pip's cache serves them; no ``local-model``
extra: the scripted model answers), then ``parse``, ``ingest``, ``extract``, ``serve``
answering ``/healthz``, ``db upgrade`` on a fresh PostgreSQL database, and a missing prompt
refused at start-up. Nothing of the checkout is on ``sys.path`` of the installed commands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from core.migrate import alembic_config
from tests import factories
from tests.agent_support import INVOICE_PAGE, invoice
from tests.service_harness import free_port, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
_SKIP = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "*.egg-info", "__pycache__", ".*_cache", "node_modules"
)


@dataclass
class Installed:
    venv: Path
    work: Path  # the current directory of every command: outside the checkout
    env: dict[str, str]

    @property
    def shipdoc(self) -> str:
        return str(self.venv / "bin" / "shipdoc")

    def run(self, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.shipdoc, *args],
            cwd=self.work,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def site_packages(self) -> Path:
        [path] = (self.venv / "lib").glob("python3*/site-packages")
        return path


def _source_copy(dest: Path) -> Path:
    """The files a clean clone has (git's list when there is one), copied to ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        shutil.copytree(ROOT, dest, ignore=_SKIP)
        return dest
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


PACKAGES = ("core", "kb", "tools", "agent", "workers", "evals", "app", "migrations", "prompts")


def _package_files() -> list[str]:
    """The files of our packages that a clean clone has (git's list when there is one)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *PACKAGES], cwd=ROOT, capture_output=True, check=False
    )
    if listed.returncode == 0:
        names = [n for n in listed.stdout.decode().split("\0") if n]
    else:
        names = [
            str(p.relative_to(ROOT))
            for package in PACKAGES
            for p in (ROOT / package).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ]
    assert len(names) > 100
    return names


def _pip(python: Path | str, *args: str, timeout: float = 600) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    started = time.monotonic()
    source = _source_copy(base / "src")
    dist = base / "dist"
    _pip(sys.executable, "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(source))
    [wheel] = dist.glob("shipdoc-*.whl")
    target = base / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    _pip(target / "bin" / "python", "install", "--quiet", str(wheel))
    work = base / "work"
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SHIPDOC_", "PYTHON", "VIRTUAL_ENV"))
    }
    env |= {
        "PATH": f"{target / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "SHIPDOC_VAR_DIR": str(work / "var"),
        "SHIPDOC_ENVIRONMENT": "test",
        "OMP_THREAD_LIMIT": "1",
    }
    sys.stderr.write(f"\nwheel built and installed in {time.monotonic() - started:.0f} s\n")
    yield Installed(target, work, env)


@pytest.fixture(scope="module")
def invoice_pdf(installed: Installed) -> Path:
    path = installed.work / "invoice.pdf"
    lines = tuple(INVOICE_PAGE.splitlines())
    path.write_bytes(factories.text_pdf(lines=lines, size=factories.A4))
    return path


def test_the_commands_import_the_installed_package_not_the_checkout(installed: Installed) -> None:
    probe = "import agent, app, core, kb, migrations, prompts; print(agent.__file__)"
    done = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", probe],
        cwd=installed.work,
        env=installed.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(done.stdout.strip()).is_relative_to(installed.site_packages())
    site = installed.site_packages()
    for data in (
        "prompts/extract_system.txt",
        "migrations/script.py.mako",
        "kb/data/hs2022/harmonized-system.csv",
        "kb/data/eu-cn-2026/cnCodes_2026.json",
    ):
        assert (site / data).is_file(), data
    assert list((site / "kb" / "sources").glob("*.md"))
    # Every file of our packages in the checkout ships: prompts, migrations, data,
    # snapshots, templates, golden sets.
    missing = [name for name in _package_files() if not (site / name).is_file()]
    assert not missing, f"not in the wheel: {missing}"
    assert not (site / "llama_cpp").exists(), "the smoke needs no local-model extra"


def test_parse_ingest_extract_from_the_wheel(installed: Installed, invoice_pdf: Path) -> None:
    parsed = installed.run("parse", invoice_pdf.name)
    assert parsed.returncode == 0, parsed.stderr
    assert "INV-2026-0042" in parsed.stdout

    ingested = installed.run("ingest", invoice_pdf.name, "--json")
    assert ingested.returncode == 0, ingested.stderr
    assert json.loads(ingested.stdout.splitlines()[0])["status"] == "parsed"

    script = installed.work / "script.json"
    script.write_text(json.dumps([json.dumps(invoice())]), encoding="utf-8")
    extracted = installed.run(
        "extract",
        invoice_pdf.name,
        "--json",
        SHIPDOC_MODEL__BACKEND="scripted",
        SHIPDOC_MODEL__SCRIPT_PATH=str(script),
    )
    assert extracted.returncode == 0, extracted.stderr
    [line] = [json.loads(x) for x in extracted.stdout.splitlines() if x.startswith("{")]
    assert (line["doc_type"], line["status"]) == ("commercial_invoice", "extracted")
    assert line["record"]["fields"]["invoice_number"]["value"] == "INV-2026-0042"


def _healthz(server: subprocess.Popen[bytes], port: int, log: Path) -> httpx.Response | None:
    """The server's answer once it listens; a server that exited fails with its log."""
    if server.poll() is not None:
        raise AssertionError(
            f"shipdoc serve exited {server.returncode}:\n{log.read_text()[-3000:]}"
        )
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.TransportError:
        return None


def test_serve_answers_healthz(installed: Installed) -> None:
    port = free_port()
    log = installed.work / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [installed.shipdoc, "serve", "--port", str(port), "--log-level", "warning"],
            cwd=installed.work,
            env=installed.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        answer = wait_for(lambda: _healthz(server, port, log), 120, "shipdoc serve to answer", 0.3)
        assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.postgres
def test_db_upgrade_on_postgres(installed: Installed, postgres_url: str) -> None:
    done = installed.run("db", "upgrade", SHIPDOC_DATABASE_URL=postgres_url)
    assert done.returncode == 0, done.stderr[-3000:]
    head = ScriptDirectory.from_config(alembic_config(postgres_url)).get_current_head()
    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert version == head
    assert {"documents", "pages", "records", "agent_runs"} <= tables


def test_a_missing_prompt_is_refused_at_start_up(installed: Installed, invoice_pdf: Path) -> None:
    prompt = installed.site_packages() / "prompts" / "repair.txt"
    hidden = prompt.with_suffix(".hidden")
    prompt.rename(hidden)
    try:
        done = installed.run("extract", invoice_pdf.name, SHIPDOC_MODEL__BACKEND="scripted")
    finally:
        hidden.rename(prompt)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "repair.txt is missing" in done.stderr
