"""Honest CLI on bad input: a missing file, a directory, a FIFO or ``/dev/zero`` given to
``shipdoc extract``, ``ingest`` or ``parse`` gets one line and exit 2, without blocking and
without reading unbounded input (``st_size`` is not trusted)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.errors import FileMissing, NotAFile
from tests import factories
from tools.localfile import read_capped, read_document

ROOT = Path(__file__).resolve().parent.parent


class Endless(io.RawIOBase):
    """Zeros for ever, counting what was asked for."""

    served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        buffer[:size] = bytes(size)
        self.served += size
        return size


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    script = tmp_path / "script.json"
    script.write_text("[]", encoding="utf-8")  # no file here gets as far as the model
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPDOC_")}
    env |= {
        "SHIPDOC_VAR_DIR": str(tmp_path / "var"),
        "SHIPDOC_MODEL__BACKEND": "scripted",
        "SHIPDOC_MODEL__SCRIPT_PATH": str(script),
        "SHIPDOC_ENVIRONMENT": "test",
        "PYTHONPATH": str(ROOT),
    }
    yield env


def _bad_paths(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)  # nobody writes: a blocking open or read would hang
    folder = tmp_path / "folder.pdf"
    folder.mkdir()
    return {
        "missing": (tmp_path / "nope.pdf", "file_not_found"),
        "directory": (folder, "not_a_file: .* is a directory"),
        "fifo": (fifo, "not_a_file: .* is a FIFO"),
        "dev-zero": (Path("/dev/zero"), "not_a_file: .* is a character device"),
    }


@pytest.mark.parametrize("command", ["extract", "ingest", "parse"])
def test_one_line_and_exit_2(command: str, tmp_path: Path, cli_env: dict[str, str]) -> None:
    for name, (path, expected) in _bad_paths(tmp_path).items():
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", command, str(path)],
            cwd=tmp_path,
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        lines = (done.stdout + done.stderr).strip().splitlines()
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        assert len(lines) == 1, (name, lines)
        assert re.search(expected, lines[0]), (name, lines[0])
        assert "Traceback" not in lines[0] and "Usage" not in lines[0]


def test_a_good_file_beside_a_bad_one_is_still_read(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    good = tmp_path / "note.pdf"
    good.write_bytes(factories.text_pdf())
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "ingest", str(tmp_path / "nope.pdf"), str(good)],
        cwd=tmp_path,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "file_not_found" in done.stderr
    assert "note.pdf" in done.stdout and "parsed" in done.stdout


def test_reads_are_capped_whatever_st_size_says(tmp_path: Path) -> None:
    # /proc files report st_size 0 yet hold bytes: the cap counts what is read.
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0
    assert read_document(status, 10) is None
    assert read_document(status, 1_000_000)
    # An endless stream is cut at the limit + 1 bytes.
    endless = Endless()
    assert read_capped(endless, 5_000_000) is None
    assert endless.served == 5_000_001


def test_kinds_are_refused_before_any_read(tmp_path: Path) -> None:
    bad = _bad_paths(tmp_path)
    with pytest.raises(FileMissing):
        read_document(bad["missing"][0], 10)
    for name in ("directory", "fifo", "dev-zero"):
        with pytest.raises(NotAFile):
            read_document(bad[name][0], 10)
