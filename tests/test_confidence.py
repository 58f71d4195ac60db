"""Confidence from evidence (source, candidate verdict, validation), the fitted table, and the
status that follows."""

from __future__ import annotations

import json

import pytest

from agent.models.scripted import ScriptedModel
from agent.pipeline import extract_document
from core.settings import Settings
from evals.calibrate import CALIBRATION_FILE, THRESHOLD, wilson_low
from tests.agent_support import INVOICE_PAGE, TARIFF, invoice, reply, store_document
from tools.confidence import (
    Evidence,
    confidence_of,
    confidences,
    evidence_class,
    field_evidence,
    uncertain_required,
)
from tools.provenance import PageText, Source, locate
from tools.validate import Issue


def test_evidence_names_source_verdict_and_validation() -> None:
    sources = {
        "invoice_number": Source(printed=True, boxed=True),
        "total": Source(printed=True),
        "currency": Source(printed=False),
        "incoterm": Source(printed=True),
        "seller.name": Source(printed=True, method="ocr", boxed=True, ocr_conf=93.0),
        "line_items[0].amount": Source(printed=True, method="ocr", ocr_conf=61.0),
        "buyer.name": Source(printed=True),
        "buyer.country": Source(printed=False),
    }
    verdicts = {"invoice_number": "agrees", "total": "disagrees", "currency": "filled"}
    issues = [
        Issue(code="incoterm", field="incoterm", message="bad"),
        Issue(code="x", field="buyer", message="odd", severity="warning"),
        Issue(code="candidate_disagrees", field="total", message="m", severity="warning"),
    ]
    classes = {p: evidence_class(e) for p, e in field_evidence(sources, verdicts, issues).items()}
    assert classes == {
        "invoice_number": "agrees/text",
        "total": "disagrees",
        "currency": "filled/absent",
        "incoterm": "invalid",
        "seller.name": "ocr90/field",
        "line_items[0].amount": "ocr0/row",
        "buyer.name": "warning",
        "buyer.country": "absent",  # absent beats the warning on its parent
    }


def test_evidence_round_trips_through_json() -> None:
    ev = Evidence(source="ocr", boxed=True, ocr_conf=88.5, check="agrees", row=True)
    assert Evidence.from_json(json.loads(json.dumps(ev.as_json()))) == ev


def test_the_fitted_table_is_the_wilson_low_end_of_its_counts() -> None:
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    rows = data["classes"]
    assert data["fit"]["fields"] == sum(r["fields"] for r in rows.values())
    for name, row in rows.items():
        low = wilson_low(row["right"], row["fields"])
        assert row["confidence"] == pytest.approx(low, abs=6e-4), name
    for weak in ("invalid", "absent"):
        assert rows[weak]["confidence"] < THRESHOLD, weak


def test_the_rule_raises_agreement_and_lowers_disagreement_and_errors() -> None:
    assert confidence_of(Evidence(source="text", check="agrees")) == pytest.approx(0.98)
    assert confidence_of(Evidence(source="text", check="disagrees")) == pytest.approx(0.4)
    assert confidence_of(Evidence(source="absent", check="filled")) == pytest.approx(0.85)
    assert confidence_of(Evidence(source="text", validation="error")) == pytest.approx(0.3)
    assert confidence_of(Evidence(source="ocr", ocr_conf=80.0)) == pytest.approx(0.72)
    assert confidence_of(Evidence(source="absent")) == pytest.approx(0.35)
    assert confidences({"a": Evidence(source="text")}) == {"a": 0.9}


@pytest.mark.parametrize(
    ("value", "path", "printed"),
    [
        (7752.0, "line_items[0].net_weight_kg", "Netto 7.752,0 kg"),
        (1.504, "total_volume_m3", "Volume m3 1,504"),
        (32083.2, "line_items[0].amount", "Montant 32 083,20"),
        (1250000.0, "total", "Total 1,250,000.00"),
        ("701090", "line_items[0].hs_code", "Code SH 7010.90"),
        ("94018000", "line_items[0].commodity_code", "9401 80 00 Chaises"),
        ("IT", "line_items[0].origin_country", "Bolts   IT   100"),
        ("Italy", "line_items[0].origin_country", "Origin: Italy"),
        (
            "29 Tran Phu, 700000 Ho Chi Minh City",
            "shipper.address",
            "29 Tran Phu\n700000 Ho Chi Minh City",
        ),
    ],
)
def test_values_are_found_as_printed(value: object, path: str, printed: str) -> None:
    head, _, leaf = path.rpartition(".")
    values: dict[str, object] = {leaf: value} if not head else {}
    if head.startswith("line_items"):
        values = {"line_items": [{leaf: value}]}
    elif head:
        values = {head: {leaf: value}}
    _, sources = locate(values, [PageText(number=1, text=f"Header\n{printed}\nFooter")])
    assert sources[path].printed, sources


def test_a_row_value_printed_in_its_row_is_aligned_one_printed_elsewhere_is_not() -> None:
    page = PageText(
        number=1,
        text=(
            "Steel bolts M10   100   2.50   250.00\nHex nuts M10   10   1.00   10.00\nTotal 260.00"
        ),
    )
    values = {
        "line_items": [
            {"description": "Steel bolts M10", "quantity": 100, "amount": 260.0},
            {"description": "Hex nuts M10", "quantity": 10},
        ]
    }
    _, sources = locate(values, [page])
    assert sources["line_items[0].quantity"].aligned is True
    assert sources["line_items[0].amount"].aligned is False  # the total, not this row's
    assert sources["line_items[1].quantity"].aligned is True
    assert sources["line_items[0].description"].aligned is None
    evidence = field_evidence(sources)
    assert evidence_class(evidence["line_items[0].amount"]) == "text/row/elsewhere"


def test_a_two_letter_code_is_not_found_in_a_word() -> None:
    _, sources = locate({"origin_country": "IT"}, [PageText(number=1, text="it is here")])
    assert not sources["origin_country"].printed


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
    assert rec.provenance["seller.name"]["evidence"] == {"source": "absent"}
    assert rec.provenance["invoice_number"]["evidence"]["check"] == "agrees"
    agrees = Evidence(source="text", check="agrees")
    assert rec.confidence["invoice_number"] == confidences({"x": agrees})["x"]
