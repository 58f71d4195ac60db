"""Shadow runs with scripted primary and candidate models: the field-level diff with the
eval scorer's rules, the report, the primary record untouched, a failing candidate
isolated, and the worker's hook after a finished document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from agent.models.scripted import ScriptedModel
from agent.pipeline import extract_document
from app.cli import app as cli
from core import migrate
from core.db import session_scope
from core.models import Record, ShadowRun, utcnow
from core.settings import ModelRef, OpsSettings, Settings, get_settings
from evals import shadow
from tests.agent_support import INVOICE_PAGE, TARIFF, invoice, reply, store_document
from workers import processing


@pytest.fixture
def db(settings: Settings, sqlite_url: str) -> Iterator[Settings]:
    migrate.upgrade(sqlite_url)
    yield settings.model_copy(update={"database_url": sqlite_url})


def _primary(db: Settings) -> tuple[int, dict[str, Any]]:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    outcome = extract_document(
        doc_id, settings=db, model=ScriptedModel([reply(invoice())]), tariff=TARIFF
    )
    assert outcome.status == "extracted"
    return doc_id, _record(db, doc_id)


def _record(db: Settings, doc_id: int) -> dict[str, Any]:
    with session_scope(db.database_url) as session:
        rec = session.scalars(select(Record).where(Record.document_id == doc_id)).one()
        return {"id": rec.id, "data": rec.data, "updated_at": rec.updated_at}


def test_a_shadow_run_diffs_fields_and_leaves_the_primary_alone(db: Settings) -> None:
    doc_id, before = _primary(db)
    candidate_record = invoice(
        invoice_number="INV-2026-0043",  # different
        invoice_date="02.10.2026",  # the same day: equivalent
        seller={"name": "ACME FASTENERS GMBH", "country": "DE"},  # case only: equivalent
        freight=None,  # missing
    )
    candidate = ScriptedModel([reply(candidate_record)] * 3, name="candidate-7b")
    [row] = shadow.shadow_document(db, doc_id, candidate)
    assert row.status == "ok" and row.candidate_model == "candidate-7b"
    assert row.requests >= 1 and row.latency_s >= 0
    outcomes = {f["key"]: f["outcome"] for f in row.fields}
    assert outcomes["invoice_number"] == "different"
    assert outcomes["invoice_date"] in ("exact", "equivalent")
    assert outcomes["seller.name"] == "equivalent"
    assert outcomes["freight"] == "missing"
    assert outcomes["total"] == "exact"
    assert outcomes["line_items[0].amount"] == "exact"
    assert _record(db, doc_id) == before
    # the scratch copy is gone again (pages, records and runs with it)
    [scratch] = (db.var_dir / "shadow").glob("scratch-*.db")
    with session_scope(f"sqlite:///{scratch}") as session:
        assert session.scalars(select(Record)).all() == []

    report = shadow.shadow_report(db, since=utcnow() - timedelta(hours=1))
    assert report.runs == 1 and report.failed == 0 and report.candidates == ["candidate-7b"]
    invoice_rate = report.by_type["commercial_invoice"]
    assert invoice_rate.different == 1 and invoice_rate.missing == 1
    assert 0.7 < invoice_rate.match_rate < 1.0
    fields = report.by_field["commercial_invoice"]
    assert fields["invoice_number"].match_rate == 0.0
    assert fields["line_items[].amount"].match_rate == 1.0
    assert report.by_tier["local_small"].fields == invoice_rate.fields


def test_a_failing_candidate_is_a_failed_shadow_run(
    db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc_id, before = _primary(db)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("candidate server fell over")

    monkeypatch.setattr(shadow, "extract_document", crash)
    [row] = shadow.shadow_document(db, doc_id, ScriptedModel([], name="broken"))
    assert row.status == "failed" and "fell over" in (row.error or "")
    assert row.fields == []
    assert _record(db, doc_id) == before
    report = shadow.shadow_report(db, since=utcnow() - timedelta(hours=1))
    assert (report.runs, report.failed) == (1, 1)


def test_sampling_is_deterministic_and_near_the_share() -> None:
    picked = [d for d in range(1, 2001) if shadow.sampled(d, 0.1)]
    assert 150 < len(picked) < 250
    assert picked == [d for d in range(1, 2001) if shadow.sampled(d, 0.1)]
    assert not shadow.sampled(7, 0.0) and shadow.sampled(7, 1.0)


def test_the_worker_hook_shadows_a_finished_document_once(db: Settings, tmp_path: Path) -> None:
    primary_script = tmp_path / "primary.json"
    primary_script.write_text(json.dumps([json.dumps(invoice())]), encoding="utf-8")
    candidate_script = tmp_path / "candidate.json"
    candidate_script.write_text(
        json.dumps([json.dumps(invoice(buyer={"name": "Quay Imports Ltd", "country": "NL"}))]),
        "utf-8",
    )
    settings = db.model_copy(
        update={
            "model": db.model.model_copy(
                update={"backend": "scripted", "script_path": primary_script}
            ),
            "ops": OpsSettings(
                shadow_share=1.0,
                shadow=ModelRef(backend="scripted", name="cand", script_path=candidate_script),
            ),
        }
    )
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    processing.on_document_done(shadow.after_document)
    try:
        result = processing.process_document(doc_id, settings=settings, worker="w1")
        again = processing.process_document(doc_id, settings=settings, worker="w2")
    finally:
        processing.AFTER_DOCUMENT.remove(shadow.after_document)
    assert result.outcome == "extracted" and again.outcome == "already_done"
    with session_scope(db.database_url) as session:
        rows = session.scalars(select(ShadowRun)).all()
        assert len(rows) == 1
        outcomes = {f["key"]: f["outcome"] for f in rows[0].fields}
    assert outcomes["buyer.name"] == "different" and outcomes["total"] == "exact"


def test_shadow_report_from_the_cli(db: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    doc_id, _ = _primary(db)
    shadow.shadow_document(
        db,
        doc_id,
        ScriptedModel([reply(invoice(buyer={"name": "Quay Imports Ltd"}))] * 3, name="c"),
    )
    monkeypatch.setenv("SHIPDOC_DATABASE_URL", db.database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["shadow", "report", "--since", "1h", "--json"])
        table = CliRunner().invoke(cli, ["shadow", "report", "--model", "c"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (
        data["runs"] == 1 and data["by_field"]["commercial_invoice"]["buyer.name"]["different"] == 1
    )
    assert table.exit_code == 0 and "match rate per field" in table.output


def test_shadow_run_from_the_cli(
    db: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc_id, before = _primary(db)
    script = tmp_path / "cand.json"
    script.write_text(json.dumps([json.dumps(invoice())]), encoding="utf-8")
    monkeypatch.setenv("SHIPDOC_DATABASE_URL", db.database_url)
    monkeypatch.setenv("SHIPDOC_OPS__SHADOW__BACKEND", "scripted")
    monkeypatch.setenv("SHIPDOC_OPS__SHADOW__NAME", "cand-0.5b")
    monkeypatch.setenv("SHIPDOC_OPS__SHADOW__SCRIPT_PATH", str(script))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["shadow", "run", str(doc_id)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"document {doc_id} commercial_invoice: ok" in result.output
    assert "cand-0.5b" in result.output
    assert _record(db, doc_id) == before
