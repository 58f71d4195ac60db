"""``make demo`` (``python -m app.demo``): the first record comes before the bulk work.

Run as a user runs it, in a fresh process from a temporary directory, with the scripted
model and a one-chapter tariff (the knowledge-base build is timed by bench/firstrun.py,
not here): the first document is ingested and extracted and its record printed before the
other three are even ingested; a second run reaches its first record again.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings
from kb.ingest import data_dir

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _one_chapter(settings: Settings, dest: Path, chapter: str = "73") -> Path:
    source = data_dir(settings)
    shutil.copytree(source, dest)
    with (source / "hs2022" / "harmonized-system.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    keep = [r for r in rows if r["hscode"][:2] == chapter or r["level"] == "2"]
    with (dest / "hs2022" / "harmonized-system.csv").open("w", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(keep)
    codes = json.loads((source / "eu-cn-2026" / "cnCodes_2026.json").read_text("utf-8"))
    small = [c for c in codes if c["chapter"] == chapter]
    (dest / "eu-cn-2026" / "cnCodes_2026.json").write_text(json.dumps(small), "utf-8")
    return dest


def _run_demo(env: dict[str, str], cwd: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "app.demo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    return done.stdout.splitlines()


def _index(lines: list[str], start: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(start))


def test_first_record_before_the_other_documents(settings: Settings, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["{}"] * 60), encoding="utf-8")  # every reply: nothing found
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "procedure-hold.md").write_text("# Customs hold\n\nCall the broker.\n", "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPDOC_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "SHIPDOC_VAR_DIR": str(tmp_path / "var"),
        "SHIPDOC_ENVIRONMENT": "test",
        "SHIPDOC_MODEL__BACKEND": "scripted",
        "SHIPDOC_MODEL__SCRIPT_PATH": str(script),
        "SHIPDOC_KB__DATA_DIR": str(_one_chapter(settings, tmp_path / "data")),
        "SHIPDOC_KB__DOCS_DIR": str(docs),
        "OMP_THREAD_LIMIT": "1",
    }
    lines = _run_demo(env, tmp_path)
    end = _index(lines, "== summary")
    ingested = [i for i, line in enumerate(lines[:end]) if line.startswith("  #")]
    first = _index(lines, "first record after")
    record = _index(lines, "-- #1 demo-bill-of-lading.pdf")
    assert ingested[0] < record < first < ingested[1], "\n".join(lines)
    assert len(ingested) == 4
    assert lines[record + 1].startswith("{")  # the record itself, before any other work
    assert _index(lines, "demo finished after") > end
    summary = lines[end + 1 :]
    assert sum(line.startswith("  #") for line in summary) == 4

    again = _run_demo(env, tmp_path)
    assert "already extracted" in again[_index(again, "-- #1")]
    assert _index(again, "first record after") < _index(again, "== 3.")
