"""``shipdoc extract``: files in, records out, in process (scripted model from settings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from core.settings import Settings, get_settings
from tests import factories
from tests.agent_support import INVOICE_PAGE, invoice


def _pdf(path: Path, text: str) -> Path:
    path.write_bytes(factories.text_pdf(lines=tuple(text.splitlines()), size=factories.A4))
    return path


@pytest.fixture
def scripted(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([json.dumps(invoice())]), encoding="utf-8")
    monkeypatch.setenv("SHIPDOC_MODEL__BACKEND", "scripted")
    monkeypatch.setenv("SHIPDOC_MODEL__SCRIPT_PATH", str(script))
    get_settings.cache_clear()
    return script


def test_extract_json_lines(scripted: Path, tmp_path: Path) -> None:
    pdf = _pdf(tmp_path / "invoice.pdf", INVOICE_PAGE)
    result = CliRunner().invoke(app, ["extract", str(pdf), "--json"])
    assert result.exit_code == 0, result.output
    [line] = [json.loads(x) for x in result.output.splitlines() if x.strip()]
    assert (line["doc_type"], line["status"], line["pages"]) == (
        "commercial_invoice",
        "extracted",
        [1],
    )
    fields = line["record"]["fields"]
    assert fields["invoice_number"]["value"] == "INV-2026-0042"
    assert fields["total"]["provenance"]["page"] == 1
    assert line["record"]["line_items"][0]["amount"]["value"] == 250.0
    assert line["issues"] == []
    assert line["usage"]["requests"] == 1 and line["usage"]["prompt_tokens"] > 0

    again = CliRunner().invoke(app, ["extract", str(pdf)])
    assert again.exit_code == 0, again.output
    assert "already extracted" in again.output
    assert "invoice_number: INV-2026-0042" in again.output


def test_rejected_file_exits_2_with_the_reason(scripted: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    result = CliRunner().invoke(app, ["extract", str(empty), "--json"])
    assert result.exit_code == 2
    line = json.loads(result.output.splitlines()[0])
    assert line["status"] == "rejected" and line["issues"][0]["code"] == "empty_file"
