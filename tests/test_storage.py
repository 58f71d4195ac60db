"""Storage: migrations on both databases, the blob store, and deduplicating intake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pymupdf
import pytest
import sqlalchemy as sa

from core import migrate
from core.blobs import BlobStore
from core.db import get_engine, session_scope
from core.errors import ConfigurationError
from core.models import Document, Page
from core.settings import Settings
from tools.intake import ingest, ingest_path


def _text_pdf(text: str) -> bytes:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 100), text, fontsize=12)
    data: bytes = doc.tobytes()
    return data


def _tables(url: str) -> set[str]:
    return set(sa.inspect(get_engine(url)).get_table_names())


def test_migrations_upgrade_from_empty_and_downgrade(db_url: str) -> None:
    assert {"documents", "pages", "alembic_version"} <= _tables(db_url)
    migrate.downgrade(db_url, "base")
    assert _tables(db_url) <= {"alembic_version"}
    migrate.upgrade(db_url)
    assert {"documents", "pages"} <= _tables(db_url)


def test_blob_store_is_content_addressed(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = store.put(b"bill of lading")
    assert store.put(b"bill of lading") == digest
    assert store.get(digest) == b"bill of lading"
    assert len(list(tmp_path.rglob("*"))) == 3  # two fan-out folders and one file


def test_same_bytes_twice_give_one_document(db_url: str, settings: Settings) -> None:
    settings.database_url = db_url
    data = _text_pdf("COMMERCIAL INVOICE No. INV-2026-0042 Total EUR 12,480.00")
    first = ingest(data, "invoice.pdf", settings=settings)
    second = ingest(data, "copy-of-invoice.pdf", settings=settings)
    assert first.created and not second.created
    assert first.document_id == second.document_id
    assert first.status == "parsed" and first.media_type == "application/pdf"
    with session_scope(db_url) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Document)) == 1
        page = session.scalars(sa.select(Page)).one()
        assert "INV-2026-0042" in page.text and page.method == "text"
        assert any(w["text"] == "INV-2026-0042" for w in page.words)


def test_rejected_input_is_stored_with_its_reason(db_url: str, settings: Settings) -> None:
    settings.database_url = db_url
    result = ingest(
        b"PK\x03\x04 this is a zip, not a shipment document", "x.pdf", settings=settings
    )
    assert result.status == "rejected"
    assert result.error_code == "unsupported_type"
    with session_scope(db_url) as session:
        doc = session.get_one(Document, result.document_id)
        assert doc.status == "rejected" and doc.error_message


def test_concurrent_ingest_from_two_processes_yields_one_document(
    db_url: str, tmp_path: Path
) -> None:
    pdf = tmp_path / "bl.pdf"
    pdf.write_bytes(_text_pdf("BILL OF LADING No. MAEU123456789"))
    env = {
        **os.environ,
        "SHIPDOC_DATABASE_URL": db_url,
        "SHIPDOC_VAR_DIR": str(tmp_path / "var"),
    }
    cmd = [sys.executable, "-m", "app.cli", "ingest", "--json", str(pdf)]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    results = [json.loads(out) for out, _ in outputs]
    assert results[0]["document_id"] == results[1]["document_id"]
    assert sorted(r["created"] for r in results) == [False, True]
    with session_scope(db_url) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Document)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(Page)) == 1


def test_server_database_is_not_migrated_silently(postgres_url: str) -> None:
    with pytest.raises(ConfigurationError, match="shipdoc db upgrade"):
        migrate.ensure_current(postgres_url)


def test_oversized_file_is_rejected_without_storing_its_bytes(
    db_url: str, settings: Settings, tmp_path: Path
) -> None:
    settings.database_url = db_url
    settings.limits.max_file_bytes = 1000
    big = tmp_path / "huge.pdf"
    big.write_bytes(_text_pdf("x") + b"%" * 2000)
    result = ingest_path(big, settings=settings)
    again = ingest(big.read_bytes(), "huge-again.pdf", settings=settings)
    assert result.status == "rejected" and result.error_code == "file_too_large"
    assert again.document_id == result.document_id and not again.created
    assert not BlobStore(settings.blobs).exists(result.sha256)
