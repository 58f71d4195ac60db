"""Exports: CSV / JSONL / XLSX, per record or per line item, corrected value and original
side by side, over the CLI and the API, streamed with flat memory."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from app.api import create_app
from app.cli import app as cli
from app.export import ExportQuery, export_stream
from core import migrate
from core.auth import create_key
from core.db import session_scope
from core.models import Record, RecordReview, Role
from core.settings import Settings, get_settings
from tests.factories import add_invoices, add_record
from tests.service_harness import auth

INVOICE = {
    "invoice_number": "INV-7",
    "seller": {"name": "=HYPERLINK(evil)", "country": "DE"},
    "currency": "EUR",
    "line_items": [
        {"description": "bolts", "quantity": 10, "amount": 20.0},
        {"description": "nuts", "quantity": 5, "amount": 7.5},
    ],
    "total": 27.5,
}
BL = {"bl_number": "BL-1", "shipper": {"name": "Hanse"}, "containers": [{"number": "MSCU1234565"}]}


def _seed(url: str) -> dict[str, int]:
    ids: dict[str, int] = {}
    with session_scope(url) as session:
        for name, doc_type, data in (
            ("inv", "commercial_invoice", INVOICE),
            ("bl", "bill_of_lading", BL),
        ):
            ids[name] = add_record(session, name, doc_type, data, "extracted")
        session.add(
            RecordReview(
                record_id=ids["inv"],
                action="correct",
                original={"currency": "EUR", "line_items[1].amount": 7.5},
                corrected={"currency": "USD", "line_items[1].amount": 8.0},
                reviewer="olga",
            )
        )
    return ids


def _csv(url: str, **query: Any) -> list[dict[str, str]]:
    raw = b"".join(export_stream(url, ExportQuery(**query), "csv")).decode()
    return list(csv.DictReader(io.StringIO(raw)))


def test_csv_per_record_has_corrected_value_and_original_beside(db_url: str) -> None:
    ids = _seed(db_url)
    rows = _csv(db_url)
    assert [int(r["record_id"]) for r in rows] == [ids["inv"], ids["bl"]]
    inv, bl = rows
    assert inv["currency"] == "USD" and inv["currency__original"] == "EUR"
    assert inv["invoice_number"] == "INV-7" and inv["invoice_number__original"] == ""
    assert inv["review_state"] == "corrected"
    assert inv["corrected_fields"] == "currency line_items[1].amount"
    assert inv["seller.name"] == "'=HYPERLINK(evil)"  # no formula in a spreadsheet
    assert inv["line_item_count"] == "2"
    assert bl["bl_number"] == "BL-1" and bl["containers"] == "MSCU1234565"
    only_bl = _csv(db_url, doc_types=["bill_of_lading"])
    assert [r["record_id"] for r in only_bl] == [str(ids["bl"])]
    assert "invoice_number" not in only_bl[0]
    assert _csv(db_url, since=datetime(2999, 1, 1, tzinfo=UTC)) == []


def test_line_items_in_csv_and_jsonl(db_url: str) -> None:
    ids = _seed(db_url)
    rows = _csv(db_url, per="line_item", doc_types=["commercial_invoice"])
    assert [(r["line_no"], r["description"]) for r in rows] == [("1", "bolts"), ("2", "nuts")]
    assert rows[1]["amount"] == "8.0" and rows[1]["amount__original"] == "7.5"
    assert rows[0]["amount__original"] == "" and rows[0]["document_number"] == "INV-7"
    lines = (
        b"".join(export_stream(db_url, ExportQuery(per="line_item"), "jsonl")).decode().splitlines()
    )
    items = [json.loads(line) for line in lines]
    assert [(i["record_id"], i["line_no"]) for i in items] == [(ids["inv"], 1), (ids["inv"], 2)]
    assert items[1]["item"]["amount"] == 8.0 and items[1]["original"] == {"amount": 7.5}
    records = [
        json.loads(line)
        for line in b"".join(export_stream(db_url, ExportQuery(), "jsonl")).decode().splitlines()
    ]
    assert records[0]["data"]["currency"] == "USD"
    assert records[0]["original"] == {"currency": "EUR", "line_items[1].amount": 7.5}


def test_xlsx_export_over_api_and_cli(tmp_path: Path, db_url: str, monkeypatch: Any) -> None:
    ids = _seed(db_url)
    settings = Settings(environment="test", var_dir=tmp_path / "var", database_url=db_url)
    viewer = create_key(db_url, Role.VIEWER, "vic").token
    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/export", params={"format": "xlsx"}, headers=auth(viewer))
        assert response.status_code == 200
        assert "attachment" in response.headers["content-disposition"]
        sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        head = list(rows[0])
        first = dict(zip(head, rows[1], strict=True))
        assert first["record_id"] == ids["inv"] and first["currency"] == "USD"
        assert first["currency__original"] == "EUR"
        assert first["seller.name"] == "=HYPERLINK(evil)"  # a string cell, not a formula
        lines = client.get(
            "/v1/export",
            params={"format": "jsonl", "per": "line-item", "type": "commercial_invoice"},
            headers=auth(viewer),
        )
        assert lines.headers["content-type"] == "application/x-ndjson"
        assert len(lines.text.splitlines()) == 2
        bad = client.get("/v1/export", params={"type": "memo"}, headers=auth(viewer))
        assert bad.status_code == 422
        assert client.get("/v1/export").status_code == 401
    monkeypatch.setenv("SHIPDOC_DATABASE_URL", db_url)
    monkeypatch.setenv("SHIPDOC_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        cli, ["export", "--format", "csv", "--type", "bill_of_lading", "-o", str(out)]
    )
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert [r["bl_number"] for r in csv.DictReader(io.StringIO(out.read_text()))] == ["BL-1"]
    bad = CliRunner().invoke(cli, ["export", "--format", "pdf"])
    assert bad.exit_code != 0


def _bulk(url: str, n: int, name: str) -> int:
    with session_scope(url) as session:
        return add_invoices(session, name, INVOICE, n)


def _peak(url: str, query: ExportQuery, fmt: Any) -> tuple[int, int]:
    """(peak traced bytes while the export is produced and consumed, bytes produced)."""
    tracemalloc.start()
    try:
        total = sum(len(chunk) for chunk in export_stream(url, query, fmt))
        return tracemalloc.get_traced_memory()[1], total
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xlsx"])
def test_export_of_10000_records_streams_with_flat_memory(
    db_url: str, fmt: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The peak memory of exporting 10,000 records is about that of exporting 1,000: it does
    not grow with the number of records (an export built in memory grows tenfold)."""
    small_doc = _bulk(db_url, 1_000, "small")
    _bulk(db_url, 9_000, "large")
    list(export_stream(db_url, ExportQuery(document_id=small_doc), fmt))  # warm caches
    small, small_bytes = _peak(db_url, ExportQuery(document_id=small_doc), fmt)
    large, large_bytes = _peak(db_url, ExportQuery(), fmt)
    with capsys.disabled():
        print(
            f"\nexport {fmt}: 1000 records {small_bytes / 1e6:.2f} MB out, traced peak "
            f"{small / 1e6:.2f} MB; 10000 records {large_bytes / 1e6:.2f} MB out, traced peak "
            f"{large / 1e6:.2f} MB"
        )
    assert large_bytes > 8 * small_bytes
    assert large < small * 1.3 + 500_000, (small, large)


def test_cli_export_in_a_fresh_process(tmp_path: Path, sqlite_url: str) -> None:
    """`shipdoc export` imports the export module first (no API loaded before it)."""
    migrate.upgrade(sqlite_url)
    ids = _seed(sqlite_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPDOC_")}
    env.update({"SHIPDOC_DATABASE_URL": sqlite_url, "SHIPDOC_VAR_DIR": str(tmp_path / "var")})
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "export", "--format", "jsonl", "--per", "line-item"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [(i["record_id"], i["line_no"]) for i in lines] == [(ids["inv"], 1), (ids["inv"], 2)]


def test_time_bounds_with_an_offset_are_compared_in_utc(db_url: str) -> None:
    _seed(db_url)
    half_hour_ago = (datetime.now(UTC) - timedelta(minutes=30)).astimezone(
        timezone(timedelta(hours=2))
    )  # its wall-clock reading is 90 minutes ahead of UTC now
    assert len(_csv(db_url, since=half_hour_ago)) == 2
    assert _csv(db_url, until=half_hour_ago) == []


def test_a_stale_correction_is_not_exported(db_url: str) -> None:
    """A re-extraction changed the value a correction was made against: the export shows
    the record as the API does, without that correction (the other one stays)."""
    ids = _seed(db_url)
    with session_scope(db_url) as session:
        record = session.get(Record, ids["inv"])
        assert record is not None
        record.data = {**INVOICE, "currency": "GBP"}
    inv = _csv(db_url, doc_types=["commercial_invoice"])[0]
    assert inv["currency"] == "GBP" and inv["currency__original"] == ""
    assert inv["corrected_fields"] == "line_items[1].amount"
    assert inv["review_state"] == "corrected"
