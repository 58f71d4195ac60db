"""Progress people can see: what the long steps report, and how it is shown (bars on a
terminal, plain lines in a log)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pymupdf
import pytest

from agent.models.fetch import fetch
from agent.pipeline import extract_file
from app.progress import ProgressDisplay, count_text, eta_s
from core import progress
from core.progress import Step
from core.settings import OcrSettings, Settings, get_settings
from kb.ingest import ingest
from tests import factories
from tests.agent_support import INVOICE_PAGE, invoice
from tests.test_models_fetch import PARTS, _model, mirror  # noqa: F401 (a fixture)
from tools.parse import parse_bytes


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _steps() -> tuple[list[Step], progress.Sink]:
    seen: list[Step] = []
    return seen, seen.append


def test_nothing_listens_by_default() -> None:
    progress.report("a task", 1, 2)  # no error, no output
    progress.note("nothing")


def test_count_and_estimate_texts() -> None:
    assert count_text(3, 22, "parts") == "3/22 parts"
    assert count_text(5 * 1024 * 1024, 10 * 1024 * 1024, "bytes") == "5.0/10.0 MB"
    assert count_text(7, None, "chunks") == "7 chunks"
    assert eta_s(0, 10, 5.0) is None
    assert eta_s(2, 10, 10.0) == 40.0
    assert eta_s(3, None, 10.0) is None


def test_plain_lines_for_long_tasks_only_throttled_with_an_estimate() -> None:
    out, clock = io.StringIO(), Clock()
    display = ProgressDisplay(out, live=False, clock=clock, min_s=2, every_s=10, heartbeat=False)
    with display:
        progress.report("quick", 0, 3, unit="pages")
        progress.report("quick", 3, 3, unit="pages")  # done at once: not worth a line
        progress.report("embed", 0, 100, unit="chunks")
        clock.now += 1
        progress.report("embed", 10, 100, unit="chunks")  # 1 s: not yet
        clock.now += 4
        progress.report("embed", 25, 100, unit="chunks")  # 5 s: first line
        clock.now += 3
        progress.report("embed", 40, 100, unit="chunks")  # 3 s after the last line: quiet
        progress.note("batch 5")
        clock.now += 8
        progress.report("embed", 60, 100, unit="chunks")  # 11 s after the last line
        clock.now += 1
        progress.report("embed", 100, 100, unit="chunks")  # the end always gets a line
        progress.report("one request", 0, 1, unit="pages", detail="model request 1")
        clock.now += 5
        display.tick()  # no report for a while: the heartbeat repeats the line
        clock.now += 5
        display.tick()  # too soon for another
        clock.now += 6
        display.tick()
    lines = out.getvalue().splitlines()
    assert lines == [
        "  embed: 25/100 chunks (25%), 5 s, ~15 s left",
        "  embed: 60/100 chunks (60%), 16 s, ~11 s left",
        "  embed: 100/100 chunks (100%), 17 s",
        "  one request: 0/1 pages (0%), 5 s; model request 1",
        "  one request: 0/1 pages (0%), 16 s; model request 1",
    ]


def test_quiet_shows_nothing_and_listening_ends_with_the_block() -> None:
    out = io.StringIO()
    with ProgressDisplay(out, live=False, quiet=True, min_s=0):
        progress.report("task", 1, 2)
    progress.report("after", 1, 2)
    assert out.getvalue() == ""


def test_live_bars_show_count_elapsed_and_estimate() -> None:
    out = io.StringIO()
    with ProgressDisplay(out, live=True):
        progress.report("OCR of 12 page(s)", 3, 12, unit="pages")
        progress.note("page 4")
    text = out.getvalue()
    assert "OCR of 12 page(s)" in text and "3/12 pages" in text
    assert "eta" in text and "page 4" in text


def test_model_download_and_assembly_report(tmp_path: Path, mirror: Path) -> None:  # noqa: F811
    model = _model(hashlib.sha256(b"".join(PARTS)).hexdigest())
    seen, sink = _steps()
    with progress.listening(sink):
        fetch(model, tmp_path / "cache", find_links=mirror)
    download = [s for s in seen if s.task.startswith("download")]
    assert download[0].done == 0 and download[-1].done == download[-1].total == len(PARTS)
    assemble = [s for s in seen if s.task.startswith("assemble")]
    assert assemble[-1].done == assemble[-1].total == model.size
    assert assemble[-1].unit == "bytes"


@pytest.mark.slow
def test_ocr_reports_each_page(settings: Settings) -> None:
    seen, sink = _steps()
    with progress.listening(sink):
        parse_bytes(factories.tiff_multipage(3), ocr=OcrSettings(workers=2))
    ocr = [s for s in seen if s.task.startswith("OCR")]
    assert sorted(s.done for s in ocr) == [1, 2, 3]
    assert {s.total for s in ocr} == {3}


def test_knowledge_base_build_reports_chunks(settings: Settings, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "procedure-x.md").write_text("# Hold\n\nCall customs.\n\n## Then\n\nWait.\n")
    seen, sink = _steps()
    with progress.listening(sink):
        ingest(settings, "docs", path=docs)
    embed = [s for s in seen if s.task.startswith("knowledge base: embed")]
    assert embed[0].done == 0 and embed[-1].done == embed[-1].total > 0


def test_each_extraction_reports_pages_and_model_requests(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([json.dumps(invoice())]), encoding="utf-8")
    monkeypatch.setenv("SHIPDOC_MODEL__BACKEND", "scripted")
    monkeypatch.setenv("SHIPDOC_MODEL__SCRIPT_PATH", str(script))
    get_settings.cache_clear()
    pdf = tmp_path / "invoice.pdf"
    doc = pymupdf.open()
    page = doc.new_page()
    for i, line in enumerate(INVOICE_PAGE.splitlines()):
        page.insert_text((50, 60 + 13 * i), line, fontsize=9)
    doc.save(pdf)
    seen, sink = _steps()
    with progress.listening(sink):
        extract_file(pdf, settings=get_settings())
    steps = [s for s in seen if s.task == "extract invoice.pdf"]
    assert (steps[0].done, steps[0].total, steps[0].detail) == (0, 1, "classify")
    assert any(s.detail == "model request 1" for s in steps)
    assert (steps[-1].done, steps[-1].total) == (1, 1)
