"""Review corrections against the record's schema, and re-extraction that keeps reviews
(issue 10, defect 8)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from agent.models.scripted import ScriptedModel
from agent.pipeline import extract_document
from app.api import create_app
from core.auth import create_key
from core.db import session_scope
from core.models import Page, Record, RecordReview, Role
from core.settings import Settings
from tests.agent_support import INVOICE_PAGE, TARIFF, invoice, reply, store_document
from tests.service_harness import auth


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[tuple[TestClient, Settings, str]]:
    settings = Settings(environment="test", var_dir=tmp_path / "var", database_url=db_url)
    operator = create_key(db_url, Role.OPERATOR, "olga").token
    with TestClient(create_app(settings)) as client:
        yield client, settings, operator


def _extract(settings: Settings, doc_id: int, record: dict[str, Any], force: bool) -> int:
    model = ScriptedModel([reply(record)])
    extract_document(doc_id, settings=settings, model=model, tariff=TARIFF, force=force)
    with session_scope(settings.database_url) as session:
        row = session.query(Record).filter_by(document_id=doc_id, page_first=1).one()
        return row.id


def _review(client: TestClient, token: str, record_id: int, body: dict[str, Any]) -> Any:
    return client.post(f"/v1/records/{record_id}/review", json=body, headers=auth(token))


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "approved"},
        {"review_state": "approved"},
        {f"field_{i}": "x" for i in range(5000)},
        {"invoice_number": "x" * 1_000_000},
        {"total": "three hundred"},
        {"invoice_number": {"nested": True}},
        {"seller": {"name": "x", "evil": 1}},
        {"line_items[7].amount": 1.0},
        {"containers[0].seal": "S1"},
    ],
    ids=[
        "status",
        "review_state",
        "5000-unknown",
        "1MB",
        "type",
        "object",
        "group",
        "row",
        "no-rows",
    ],
)
def test_corrections_outside_the_schema_are_refused(
    env: tuple[TestClient, Settings, str], fields: dict[str, Any]
) -> None:
    client, settings, operator = env
    doc_id = store_document(settings.database_url, [INVOICE_PAGE])
    record_id = _extract(settings, doc_id, invoice(), force=False)
    response = _review(client, operator, record_id, {"action": "correct", "fields": fields})
    assert response.status_code in (413, 422), response.text[:300]
    assert response.json()["error"]["code"] in ("bad_correction", "invalid_request")
    with session_scope(settings.database_url) as session:
        assert session.query(RecordReview).count() == 0


def test_a_valid_correction_is_stored_as_its_typed_value(
    env: tuple[TestClient, Settings, str],
) -> None:
    client, settings, operator = env
    doc_id = store_document(settings.database_url, [INVOICE_PAGE])
    record_id = _extract(settings, doc_id, invoice(), force=False)
    body = {"action": "correct", "fields": {"total": "310.5", "line_items[1].amount": 12}}
    response = _review(client, operator, record_id, body)
    assert response.status_code == 200, response.text
    assert response.json()["corrected_data"]["total"] == 310.5


def test_a_failed_record_cannot_be_approved(env: tuple[TestClient, Settings, str]) -> None:
    client, settings, operator = env
    doc_id = store_document(settings.database_url, [INVOICE_PAGE])
    extract_document(doc_id, settings=settings, model=ScriptedModel(["not json", "{"]))
    with session_scope(settings.database_url) as session:
        record = session.query(Record).filter_by(document_id=doc_id).one()
        assert record.status == "failed"
        record_id = record.id
    response = _review(client, operator, record_id, {"action": "approve"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_approvable"


def test_force_re_extraction_keeps_reviews_and_does_not_replay_stale_corrections(
    env: tuple[TestClient, Settings, str],
) -> None:
    client, settings, operator = env
    url = settings.database_url
    # Page 2 continues page 1 (a page printing another invoice number would start its own
    # document), so pages 1-2 are one record now and the 2-2 record below is an old grouping.
    doc_id = store_document(url, [INVOICE_PAGE, "Page 2 of 2\nPayment within 30 days net."])
    record_id = _extract(settings, doc_id, invoice(), force=False)
    # A record of an earlier grouping (pages 2-2) that a reviewer already corrected.
    with session_scope(url) as session:
        old = Record(
            document_id=doc_id,
            page_first=2,
            page_last=2,
            doc_type="commercial_invoice",
            schema_version="1.0",
            data=invoice(invoice_number="X"),
            status="needs_review",
        )
        session.add(old)
        session.flush()
        old_id = old.id
    assert (
        _review(
            client, operator, old_id, {"action": "correct", "fields": {"invoice_number": "INV-X"}}
        ).status_code
        == 200
    )
    corrections = {"invoice_number": "INV-42", "seller.name": "Acme Fasteners"}
    assert (
        _review(
            client, operator, record_id, {"action": "correct", "fields": corrections}
        ).status_code
        == 200
    )

    # Extracted again (say after a better OCR): the invoice number now reads differently,
    # the seller did not change.
    with session_scope(url) as session:
        session.execute(
            sa.update(Page)
            .where(Page.document_id == doc_id, Page.number == 1)
            .values(text=INVOICE_PAGE.replace("INV-2026-0042", "INV-2026-0043"))
        )
    again = _extract(settings, doc_id, invoice(invoice_number="INV-2026-0043"), force=True)
    assert again == record_id
    record = client.get(f"/v1/records/{record_id}", headers=auth(operator)).json()
    assert record["data"]["invoice_number"] == "INV-2026-0043"
    assert record["corrected_data"]["invoice_number"] == "INV-2026-0043"
    assert record["stale_corrections"] == ["invoice_number"]
    assert record["corrected_data"]["seller"]["name"] == "Acme Fasteners"
    kept = client.get(f"/v1/records/{old_id}", headers=auth(operator)).json()
    assert kept["status"] == "superseded" and len(kept["reviews"]) == 1
