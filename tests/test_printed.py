"""Printed is not suggested: codes the document does not print leave the record."""

from __future__ import annotations

from agent.models.scripted import ScriptedModel
from agent.pipeline import extract_document
from core.settings import Settings
from tests.agent_support import INVOICE_PAGE, TARIFF, invoice, records, reply, store_document
from tools.printed import digit_runs, is_printed, split_printed

CLOUD_PAGE = """INVOICE
Invoice number: 2026-118   Invoice date: 2026-10-02
From: Nimbus Hosting Ltd, 1 Cloud Street, London, GB
To: Bolt Trading BV, Kade 5, 3011 Rotterdam, NL
Description                     Amount
Virtual servers, October        250.00
Total EUR 250.00
"""


def test_codes_count_as_printed_with_dots_spaces_or_a_longer_printed_code() -> None:
    runs = digit_runs("HS 8427.20 ... Code 7318 15 00 ... 940360")
    assert is_printed("842720", runs) and is_printed("73181500", runs)
    assert is_printed("9403.60", runs)
    assert not is_printed("84272000", runs)  # longer than printed: a guess
    assert not is_printed("8401000000", runs) and not is_printed("539", runs)


def test_split_moves_an_unprinted_code_to_suggestions() -> None:
    values = {"line_items": [{"description": "Virtual servers", "hs_code": "8401000000"}]}
    kept, suggested = split_printed(values, CLOUD_PAGE)
    assert kept["line_items"][0]["hs_code"] is None
    assert [s.code for s in suggested["line_items[0].hs_code"]] == ["8401000000"]
    assert suggested["line_items[0].hs_code"][0].source == "model"


def test_an_invented_code_costs_no_repair_and_does_not_block_extracted(db: Settings) -> None:
    doc_id = store_document(db.database_url, [CLOUD_PAGE])
    record = {
        "invoice_number": "2026-118",
        "invoice_date": "2026-10-02",
        "seller": {"name": "Nimbus Hosting Ltd", "country": "GB"},
        "buyer": {"name": "Bolt Trading BV", "country": "NL"},
        "currency": "EUR",
        "line_items": [
            {"description": "Virtual servers, October", "hs_code": "7777", "amount": 250.0}
        ],
        "total": 250.0,
    }
    model = ScriptedModel([reply(record)])  # a repair request would exhaust the script
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)

    assert outcome.status == "extracted", outcome.records[0].issues
    [rec] = records(db.database_url, doc_id)
    assert rec.data["line_items"][0]["hs_code"] is None
    assert rec.suggestions["line_items[0].hs_code"][0]["code"] == "7777"
    assert outcome.records[0].suggestions["line_items[0].hs_code"][0]["source"] == "model"


def test_a_printed_code_stays_in_the_record(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    outcome = extract_document(
        doc_id, settings=db, model=ScriptedModel([reply(invoice())]), tariff=TARIFF
    )
    assert outcome.status == "extracted"
    assert [li["hs_code"] for li in outcome.records[0].record["line_items"]] == ["731815", "731816"]
    assert outcome.records[0].suggestions == {}
