"""Confidence from source, candidate agreement and validation; the status that follows."""

from __future__ import annotations

import pytest

from agent.models.scripted import ScriptedModel
from agent.pipeline import extract_document
from core.settings import Settings
from tests.agent_support import INVOICE_PAGE, TARIFF, invoice, reply, store_document
from tools.confidence import combine, uncertain_required
from tools.validate import Issue


def test_agreement_raises_disagreement_and_errors_lower() -> None:
    base = {"invoice_number": 0.9, "total": 0.9, "currency": 0.35, "incoterm": 0.9, "x": 0.9}
    verdicts = {"invoice_number": "agrees", "total": "disagrees", "currency": "filled"}
    issues = [Issue(code="incoterm", field="incoterm", message="bad")]
    out = combine(base, verdicts, issues)
    assert out["invoice_number"] == pytest.approx(0.98)
    assert out["total"] == pytest.approx(0.4)
    assert out["currency"] == pytest.approx(0.85)
    assert out["incoterm"] == pytest.approx(0.3)
    assert out["x"] == pytest.approx(0.9)


def test_uncertain_required_fields_are_listed() -> None:
    values = {"invoice_number": "A", "seller": {"name": "S"}, "line_items": [{"amount": 1}]}
    conf = {"invoice_number": 0.95, "seller.name": 0.35, "line_items[0].amount": 0.35}
    found = uncertain_required("commercial_invoice", values, conf, 0.8)
    assert [(i.code, i.field) for i in found] == [("low_confidence", "seller.name")]


def test_a_required_value_the_page_does_not_print_sends_the_record_to_review(
    db: Settings,
) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    record = invoice(seller={"name": "Globex Corporation", "country": "DE"})
    outcome = extract_document(
        doc_id, settings=db, model=ScriptedModel([reply(record)]), tariff=TARIFF
    )
    [rec] = outcome.records
    assert rec.status == "needs_review"
    assert rec.confidence["seller.name"] < 0.5
    assert [i["field"] for i in rec.issues if i["code"] == "low_confidence"] == ["seller.name"]
    assert rec.confidence["invoice_number"] >= 0.95  # printed and read alike by the rules
