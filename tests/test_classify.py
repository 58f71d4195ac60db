"""Document types: none of the four says so; weak keywords ask the model or say "unknown".

The shipping side (every golden file typed right by keywords alone) is measured by
``shipdoc eval groups`` and checked on the text-layer golden files below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.classify import classify, keyword_type
from agent.models.scripted import ScriptedModel
from agent.pipeline import extract_document
from core import migrate
from core.settings import Settings
from evals.goldenset import load_golden_truth
from evals.grouping import score_grouping
from tests.agent_support import store_document
from tools.provenance import PageText

HOTEL = """Booking confirmation
Hotel Schiller Weimar
Confirmation number: 48213377
Dear Ms. Jansen,
thank you for your reservation. We look forward to welcoming you.
Arrival: Thu 12 March 2026 (check-in from 15:00)
Departure: Sat 14 March 2026 (check-out until 11:00)
Room: 1 Superior double room, non-smoking
Guests: 2 adults
Rate: Flexible rate incl. breakfast, EUR 129.00 per night
Total price: EUR 258.00 (VAT included, city tax 5 % payable at the hotel)
Cancellation free of charge until 10 March 2026, 18:00
Payment: guaranteed by credit card (Visa **** 4411)
"""
RECEIPT = """Trattoria Da Marco
Via Roma 21, 00184 Roma
Tel. 06 4567 8910
RECEIPT
Table 7   Server: Giulia   Guests 2
2 x Spaghetti carbonara    28.00
1 x Pizza margherita       11.50
1 x Tiramisu                7.00
1 x Acqua minerale 0.75 l   4.00
Subtotal                   50.50
Service 10 %                5.05
Total EUR                  55.55
VISA ****2290              55.55
Grazie e arrivederci!
"""
LETTER = """Jansen & Partners Advocaten
Herengracht 118, 1015 BS Amsterdam
Amsterdam, 3 February 2026
Dear Mr. Okafor,
Re: your lease of the premises at Keizersgracht 208
Following our meeting of 28 January, we confirm that the landlord agrees to extend the
lease by two years on the present terms. Please sign both copies of the enclosed
addendum and return one to our office before the end of this month.
Yours sincerely,
M. Jansen
"""
CV = """Curriculum Vitae
Sophie Lambert
Rue des Carmes 14, 69002 Lyon - sophie.lambert@example.org - +33 6 12 34 56 78
Experience
2021-today  Logistics analyst, Rhône Distribution, Lyon
2017-2021   Team lead warehouse operations, Lyon
Education
2015-2017   MSc Supply Chain Management, Université Lyon 2
Languages   French (native), English (fluent), German (good)
Skills      SQL, Excel, SAP
"""
NOT_SHIPPING = {"hotel": HOTEL, "receipt": RECEIPT, "letter": LETTER, "cv": CV}


def _pages(text: str) -> list[PageText]:
    return [PageText(number=1, text=text)]


@pytest.mark.parametrize("name", sorted(NOT_SHIPPING))
def test_a_document_of_none_of_the_four_types_is_not_typed_by_keywords(name: str) -> None:
    [group] = classify(_pages(NOT_SHIPPING[name]), None)
    assert group.unsupported
    assert group.reason in ("other", "undecided")
    assert group.detail


@pytest.mark.parametrize("name", sorted(NOT_SHIPPING))
@pytest.mark.parametrize("answer", ["bill_of_lading", "packing_list", "customs_declaration"])
def test_a_type_the_model_forces_without_a_word_of_it_on_the_page_is_not_taken(
    name: str, answer: str
) -> None:
    model = ScriptedModel([f'{{"doc_type": "{answer}"}}'])
    [group] = classify(_pages(NOT_SHIPPING[name]), model)
    assert len(model.requests) == 1  # weak keywords: the model was asked
    assert group.unsupported and group.reason == "other"
    assert answer in group.detail


def test_the_model_saying_other_makes_the_group_unsupported() -> None:
    model = ScriptedModel(['{"doc_type": "other"}'])
    [group] = classify(_pages(HOTEL), model)
    assert group.unsupported and group.reason == "other" and group.method == "model"


def test_a_title_alone_is_weak_evidence_and_the_model_decides() -> None:
    text = "INVOICE\nThanks for your order\nTotal 45.00"
    assert keyword_type(text) is None
    model = ScriptedModel(['{"doc_type": "commercial_invoice"}'])
    [group] = classify(_pages(text), model)
    assert len(model.requests) == 1
    assert group.doc_type == "commercial_invoice" and not group.unsupported


def test_weak_shipping_evidence_without_a_model_is_undecided_not_forced() -> None:
    text = "Notice\nThe vessel arrives on Monday.\nGross weight to be confirmed."
    [group] = classify(_pages(text), None)
    assert group.unsupported and group.reason == "undecided"


def test_a_shipping_document_is_typed_by_keywords_without_a_request() -> None:
    text = (
        "PACKLISTE\nPacklisten-Nr. PL-2026-118\nVersender Acme GmbH\n"
        "Packstücke 12  Nettogewicht kg 1.204,0  Bruttogewicht kg 1.310,5\n"
        "Abmessungen cm 120 x 80 x 100"
    )
    model = ScriptedModel([])
    [group] = classify(_pages(text), model)
    assert group.doc_type == "packing_list" and group.method == "keywords"
    assert model.requests == []


def test_the_stored_outcome_says_the_hotel_booking_is_not_a_shipment_document(
    settings: Settings, sqlite_url: str
) -> None:
    migrate.upgrade(sqlite_url)
    db = settings.model_copy(update={"database_url": sqlite_url})
    doc_id = store_document(sqlite_url, [HOTEL])
    model = ScriptedModel(['{"doc_type": "bill_of_lading"}'])  # what the 1.5B model said
    outcome = extract_document(doc_id, settings=db, model=model)
    [rec] = outcome.records
    assert outcome.status == "failed" and rec.status == "failed"
    assert [i["code"] for i in rec.issues] == ["not_a_shipment_document"]
    assert "bill_of_lading" in rec.issues[0]["message"]
    assert len(model.requests) == 1


def test_an_undecided_type_is_stored_as_unknown_when_the_model_gives_no_answer(
    settings: Settings, sqlite_url: str
) -> None:
    migrate.upgrade(sqlite_url)
    db = settings.model_copy(update={"database_url": sqlite_url})
    text = "Notice\nThe vessel arrives on Monday.\nGross weight to be confirmed."
    doc_id = store_document(sqlite_url, [text])
    model = ScriptedModel(["not json", "still not json"])  # ModelOutputInvalid
    outcome = extract_document(doc_id, settings=db, model=model)
    [rec] = outcome.records
    assert rec.status == "failed"
    assert [i["code"] for i in rec.issues] == ["document_type_unknown"]


@pytest.mark.slow
def test_every_text_layer_golden_file_is_split_and_typed_by_keywords(tmp_path: Path) -> None:
    truths = [t for t in load_golden_truth() if t.spec.scan is None]
    report = score_grouping(truths, tmp_path)
    assert report.files == 96
    assert report.page_groups_exact == report.documents
    assert report.doc_type_correct == report.documents
