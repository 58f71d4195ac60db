"""Deterministic candidates: labels in four languages, traps, locale dates and amounts."""

from __future__ import annotations

import pytest

from agent.classify import split_groups
from agent.crosscheck import crosscheck, render_hints
from agent.models.scripted import ScriptedModel
from agent.pipeline import extract_document
from core import migrate
from core.settings import Settings
from tests.agent_support import store_document
from tools.candidates import Candidate, best, find_candidates, normalize_incoterm, traps
from tools.layout import rows
from tools.provenance import PageText


def _cands(text: str, words: list[dict[str, object]] | None = None) -> list[Candidate]:
    return find_candidates([PageText(number=1, text=text, words=words or [])])


def _best(cands: list[Candidate], field: str) -> object:
    found = best(cands, field)
    return None if found is None else found.value


TRAP_EN = """INVOICE
Order No: PO-77812        Invoice No: 2026-0418
Order date: 09/01/2026    Invoice date: 09/23/2026
Customer No: 100234
Subtotal 1,200.00
VAT 228.00
Total due USD 1,428.00
"""


def test_order_number_and_order_date_next_to_the_invoice_ones_are_traps() -> None:
    cands = _cands(TRAP_EN)
    assert _best(cands, "invoice_number") == "2026-0418"
    assert "PO-77812" in [t.value for t in traps(cands, "invoice_number")]
    assert "100234" in [t.value for t in traps(cands, "invoice_number")]
    # 09/23/2026 can only be month-first, so the document's 09/01/2026 is too
    assert _best(cands, "invoice_date") == "2026-09-23"
    assert "2026-09-01" in [t.value for t in traps(cands, "invoice_date")]
    assert _best(cands, "total") == 1428.0
    assert 1200.0 in [t.value for t in traps(cands, "total")]
    assert _best(cands, "currency") == "USD"


@pytest.mark.parametrize(
    ("text", "number", "date", "total"),
    [
        (
            "RECHNUNG\nBestellnummer: 4500012\nRechnungsnummer: RE-2026-118\n"
            "Bestelldatum: 01.02.2026\nRechnungsdatum: 12.02.2026\n"
            "Zwischensumme 24.816,00\nGesamtbetrag EUR 29.531,04",
            "RE-2026-118",
            "2026-02-12",
            29531.04,
        ),
        (
            "FACTUUR\nOrdernummer: 88123\nFactuurnummer: F26-0091\nFactuurdatum: 3 maart 2026\n"
            "Subtotaal 1.250,00\nTotaal EUR 1.512,50",
            "F26-0091",
            "2026-03-03",
            1512.5,
        ),
        (
            "FACTURE\nN° de commande : C-5521\nN° de facture : FA-2026-07\n"
            "Date de commande : 01/03/2026\nDate de facture : 15/03/2026\n"
            "Sous-total 980,00\nNet à payer 1 176,00 €",
            "FA-2026-07",
            "2026-03-15",
            1176.0,
        ),
    ],
)
def test_labels_in_german_dutch_french(text: str, number: str, date: str, total: float) -> None:
    cands = _cands(text)
    assert _best(cands, "invoice_number") == number
    assert _best(cands, "invoice_date") == date
    assert _best(cands, "total") == total
    assert _best(cands, "currency") == "EUR"


def test_incoterms_written_out_and_currency_symbols() -> None:
    assert normalize_incoterm("DPU - DELIVERED AT PLACE UNLOADED") == "DPU"
    assert normalize_incoterm("free on board") == "FOB"
    assert normalize_incoterm("Delivered at place") == "DAP"
    assert normalize_incoterm("FOB2010") == "FOB2010"
    cands = _cands("Terms: DELIVERED AT PLACE UNLOADED, Rotterdam\nTotal £ 99.00")
    assert _best(cands, "incoterm") == "DPU"
    assert _best(cands, "currency") == "GBP"


def test_containers_with_check_digit_and_mrn_by_form() -> None:
    cands = _cands("Container CSQU3054383 seal 123\nbad MSCU1234565\nMRN 26NL0000000012345A")
    assert [c.value for c in cands if c.field == "containers"] == ["CSQU3054383"]
    assert _best(cands, "mrn") == "26NL0000000012345A"


def _word(text: str, x0: float, y0: float) -> dict[str, object]:
    return {"text": text, "x0": x0, "y0": y0, "x1": x0 + 6 * len(text), "y1": y0 + 10}


def test_a_form_with_values_under_their_labels() -> None:
    words = [
        _word("Factuurnummer", 50, 100), _word("Datum", 200, 100), _word("Valuta", 320, 100),
        _word("CI-2026-4473908", 50, 114), _word("05-01-2026", 200, 114), _word("EUR", 320, 114),
    ]  # fmt: skip
    grid = rows(words)
    assert [[c.text for c in row] for row in grid] == [
        ["Factuurnummer", "Datum", "Valuta"],
        ["CI-2026-4473908", "05-01-2026", "EUR"],
    ]
    text = "Factuurnummer Datum Valuta\nCI-2026-4473908 05-01-2026 EUR"
    cands = _cands(text, words)
    assert _best(cands, "invoice_number") == "CI-2026-4473908"
    assert _best(cands, "invoice_date") == "2026-01-05"


def test_crosscheck_replaces_look_alikes_and_says_so() -> None:
    cands = _cands(TRAP_EN)
    model = {"invoice_number": "PO-77812", "invoice_date": "2026-09-01", "total": 1200.0}
    checked = crosscheck("commercial_invoice", model, cands)
    assert checked.values["invoice_number"] == "2026-0418"
    assert checked.values["invoice_date"] == "2026-09-23"
    assert checked.values["total"] == 1428.0
    assert checked.values["currency"] == "USD"  # the model left it empty
    assert checked.verdicts == {
        "invoice_number": "replaced",
        "invoice_date": "replaced",
        "total": "replaced",
        "currency": "filled",
    }
    assert {i.field for i in checked.issues} == {"invoice_number", "invoice_date", "total"}
    assert all(i.severity == "warning" for i in checked.issues)


def test_crosscheck_confirms_agreement_and_swapped_dates_follow_the_document() -> None:
    cands = _cands("Invoice No: A-1\nInvoice date: 08/09/2022\nTotal EUR 10,00")
    checked = crosscheck(
        "commercial_invoice",
        {"invoice_number": "A-1", "invoice_date": "2022-08-09", "total": 10.0, "currency": "EUR"},
        cands,
    )
    assert checked.values["invoice_date"] == "2022-09-08"  # day-first, as the document writes
    assert checked.verdicts["invoice_number"] == "agrees"
    assert checked.verdicts["invoice_date"] == "replaced"


def test_hints_name_candidates_and_look_alikes() -> None:
    hints = render_hints("commercial_invoice", _cands(TRAP_EN))
    assert "invoice_number: 2026-0418" in hints
    assert "PO-77812" in hints and "not the invoice_number" in hints


def test_a_document_of_none_of_the_four_types_says_so(settings: Settings, sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    db = settings.model_copy(update={"database_url": sqlite_url})
    hotel = "Hotel Zur Post\nYour stay 12-14 March 2026\nRoom 204, 2 nights\nCity tax 4.00\nPaid"
    doc_id = store_document(sqlite_url, [hotel])
    model = ScriptedModel(['{"doc_type": "other"}'])  # an extraction request would exhaust it
    outcome = extract_document(doc_id, settings=db, model=model)
    [rec] = outcome.records
    assert outcome.status == "failed" and rec.status == "failed"
    assert [i["code"] for i in rec.issues] == ["not_a_shipment_document"]
    assert len(model.requests) == 1


def test_a_new_invoice_number_starts_a_new_document() -> None:
    pages = [
        PageText(number=1, text="INVOICE\nInvoice No: A-100\nWidgets 10.00"),
        PageText(number=2, text="INVOICE\nInvoice No: B-200\nPage 1\nGadgets"),
        PageText(number=3, text="INVOICE\nInvoice No: B-200\ncontinued\nTotal 30.00"),
        PageText(number=4, text="terms and conditions"),
        PageText(number=5, text="INVOICE\nInvoice No: C-300\nTotal 5.00"),
    ]
    groups = split_groups(pages)
    assert [[p.number for p in g] for g in groups] == [[1], [2, 3, 4], [5]]


@pytest.mark.parametrize(
    "text",
    [
        "B/L No.: MEDU111042838",
        "B/L-nummer\nMEDU111042838",
        "B/L-Nr.\nMEDU111042838",
        "N° de B/L : MEDU111042838",
        "Bill of Lading No. MEDU111042838",
    ],
)
def test_bill_of_lading_numbers_by_their_labels(text: str) -> None:
    assert _best(_cands(text), "bl_number") == "MEDU111042838"


@pytest.mark.parametrize(
    "text",
    [
        "Packing list No.: PL-2026-0042",
        "Paklijstnummer\nPL-2026-0042",
        "Packlisten-Nr. PL-2026-0042",
        "N° de liste de colisage : PL-2026-0042",
    ],
)
def test_packing_list_numbers_by_their_labels(text: str) -> None:
    assert _best(_cands(text), "packing_list_number") == "PL-2026-0042"


def test_hints_reach_the_prompt_only_when_asked(settings: Settings, sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    page = "INVOICE\nOrder No: PO-1\nInvoice No: INV-9\nTotal EUR 10.00"
    for enabled in (False, True):
        agent = settings.agent.model_copy(update={"prompt_hints": enabled})
        db = settings.model_copy(update={"database_url": sqlite_url, "agent": agent})
        doc_id = store_document(sqlite_url, [page])
        model = ScriptedModel(['{"invoice_number": "PO-1"}'])
        outcome = extract_document(doc_id, settings=db, model=model)
        user = model.requests[0].messages[1].content
        assert ("Read by rules" in user) is enabled
        assert outcome.records[0].record["invoice_number"] == "INV-9"  # cross-checked anyway


def test_a_currency_printed_as_a_symbol_reads_the_same_in_candidates_and_validation() -> None:
    """One symbol map (core/values.py): a yen amount gives a JPY candidate, and a model that
    copied the printed "¥" agrees with it instead of raising a disagreement warning."""
    from tools.validate import normalize

    cands = _cands("RECHNUNG\nGesamtbetrag ¥ 125,000\n")
    assert _best(cands, "currency") == "JPY"
    checked = crosscheck("commercial_invoice", {"currency": "¥"}, cands)
    assert checked.verdicts["currency"] == "agrees" and not checked.issues
    for symbol, code in (("¥", "JPY"), ("€", "EUR"), ("US$", "USD"), ("£", "GBP")):
        assert normalize("commercial_invoice", {"currency": symbol})["currency"] == code
        assert _best(_cands(f"Total {symbol} 10.00"), "currency") == code
