"""tools/tables: item tables read from word boxes, with the self-check that gates them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.extraction import extract_values
from agent.metering import Metered
from agent.models.scripted import ScriptedModel
from agent.tools import ToolContext
from core.records import FieldValue
from core.settings import AgentSettings
from evals.corpus import build_item
from evals.goldenset import load_golden_truth
from evals.scoring.extraction import compare_tables
from tools.parse import parse_bytes
from tools.provenance import PageText
from tools.tables import read_table
from tools.writeback import WriteTarget


def _words(lines: list[list[tuple[float, str]]], top: float = 100.0) -> list[dict[str, Any]]:
    """Word boxes from lines of (x0, text): each word 5 pt per character, 10 pt high."""
    out = []
    for i, line in enumerate(lines):
        y0 = top + 14.0 * i
        for x0, text in line:
            x = x0
            for word in text.split():
                out.append(
                    {"text": word, "x0": x, "x1": x + 5.0 * len(word), "y0": y0, "y1": y0 + 10}
                )
                x += 5.0 * len(word) + 3.0
    return out


def _page(n: int, lines: list[list[tuple[float, str]]]) -> PageText:
    words = _words(lines)
    text = "\n".join(" ".join(t for _, t in line) for line in lines)
    return PageText(number=n, text=text, words=words)


INV_HEAD = [
    (40, "Pos."),
    (70, "Beschreibung"),
    (250, "Menge"),
    (320, "Einzelpreis"),
    (420, "Betrag"),
]


def _inv_row(i: int, desc: str, qty: str, price: str, amount: str) -> list[tuple[float, str]]:
    return [(40, str(i)), (70, desc), (250, qty), (320, price), (420, amount)]


def test_german_numbers_wrapped_description_repeated_header_and_totals() -> None:
    page1 = _page(
        1,
        [
            [(40, "Rechnung"), (300, "Nr. 4711")],
            INV_HEAD,
            _inv_row(1, "Kugellager", "1.200", "2,50", "3.000,00"),
            _inv_row(2, "Schrauben aus", "10", "1.234,56", "12.345,60"),
            [(70, "Edelstahl A2")],
            [(250, "Seite 1 / 2")],
        ],
    )
    page2 = _page(
        2,
        [
            INV_HEAD,
            _inv_row(3, "Zahnpasta", "3", "0,50", "1,50"),
            [(40, "Zwischensumme"), (420, "15.347,10")],
            [(40, "Gesamt"), (420, "15.347,10")],
        ],
    )
    table = read_table([page1, page2], "commercial_invoice")
    assert [r.values for r in table.rows] == [
        {"description": "Kugellager", "quantity": 1200.0, "unit_price": 2.5, "amount": 3000.0},
        {
            "description": "Schrauben aus Edelstahl A2",
            "quantity": 10.0,
            "unit_price": 1234.56,
            "amount": 12345.6,
        },
        {"description": "Zahnpasta", "quantity": 3.0, "unit_price": 0.5, "amount": 1.5},
    ]
    assert [r.page for r in table.rows] == [1, 1, 2]
    assert table.passed, table.checks


def test_totals_row_is_not_an_item_and_a_wrong_sum_fails_the_check() -> None:
    page = _page(
        1,
        [
            INV_HEAD,
            _inv_row(1, "Kugellager", "2", "2,50", "5,00"),
            _inv_row(2, "Zahnpasta", "3", "0,50", "1,50"),
            [(40, "Total"), (420, "9,50")],  # the printed total does not sum the rows read
        ],
    )
    table = read_table([page], "commercial_invoice")
    assert len(table.rows) == 2
    assert not table.passed
    assert "no column sum matches a printed total" in table.checks


def test_quantity_times_price_must_give_the_amount() -> None:
    page = _page(
        1,
        [
            INV_HEAD,
            _inv_row(1, "Kugellager", "2", "2,50", "7,00"),
            [(40, "Total"), (420, "7,00")],
        ],
    )
    table = read_table([page], "commercial_invoice")
    assert not table.passed
    assert any("quantity x unit price" in c for c in table.checks)


def test_no_header_no_table() -> None:
    page = _page(1, [[(40, "Kugellager"), (250, "2"), (420, "5,00")]])
    table = read_table([page], "commercial_invoice")
    assert table.rows == [] and not table.passed


# One text-layer golden file per type and layout (letterhead, boxed, plain), and a scan.
GOLDEN = {
    "c2026-0072-inv": ("commercial_invoice", 1.0),  # letterhead
    "c2026-0088-inv": ("commercial_invoice", 1.0),  # boxed, 66 rows over pages
    "c2026-0081-pl": ("packing_list", 1.0),  # plain
    "c2026-0078-bl": ("bill_of_lading", 1.0),  # boxed
    "c2026-0106-bl": ("bill_of_lading", 0.95),  # plain, German numbers, two pages
    "c2026-0127-cd": ("customs_declaration", 1.0),  # boxed, Dutch
    "c2026-0099-bl-inv-pl": ("commercial_invoice", 0.95),  # OCR'd scan
}


@pytest.mark.parametrize("file_id", sorted(GOLDEN))
def test_golden_tables(file_id: str) -> None:
    doc_type, floor = GOLDEN[file_id]
    truth = next(t for t in load_golden_truth() if t.id == file_id)
    data, _ = build_item(truth.spec)
    parsed = parse_bytes(data)
    doc = next(d for d in truth.documents if d.doc_type == doc_type)
    pages = [
        PageText(
            number=p.number, text=p.text, method=p.method, words=[w.as_dict() for w in p.words]
        )
        for p in parsed.pages
        if p.number in doc.pages
    ]
    table = read_table(pages, doc_type)
    assert table.passed, table.checks
    pred = [{k: FieldValue(value=v) for k, v in row.items()} for row in table.line_items()]
    results = compare_tables(doc_type, "line_items", doc.line_items, pred)
    right = sum(1 for r in results if r.outcome in ("exact", "equivalent"))
    assert right / len(results) >= floor, [
        r for r in results if r.outcome not in ("exact", "equivalent")
    ][:5]


# --- the agent hook: a checked table replaces the model's rows --------------------------------


def _extract(page: PageText, reply: dict[str, Any]) -> tuple[dict[str, Any], ScriptedModel]:
    model = ScriptedModel([json.dumps(reply)])
    limits = AgentSettings(constrained_output=False)
    ctx = ToolContext(
        target=WriteTarget(document_id=1, page_first=1, page_last=1, doc_type="commercial_invoice"),
        pages=[page],
        database_url="sqlite://",
    )
    return extract_values(Metered(model, limits), ctx, limits), model


GOOD = [
    INV_HEAD,
    _inv_row(1, "Kugellager", "2", "2,50", "5,00"),
    _inv_row(2, "Zahnpasta", "3", "0,50", "1,50"),
    [(40, "Gesamt"), (420, "6,50")],
]


def test_a_checked_table_asks_the_model_for_the_header_only() -> None:
    values, model = _extract(_page(1, GOOD), {"invoice_number": "R-1", "total": 6.5})
    system = model.requests[0].messages[0].content
    assert "line_items" not in system and "invoice_number" in system
    assert values["invoice_number"] == "R-1"
    assert [row["description"] for row in values["line_items"]] == ["Kugellager", "Zahnpasta"]


def test_a_table_that_fails_its_check_is_left_to_the_model() -> None:
    bad = [*GOOD[:-1], [(40, "Gesamt"), (420, "9,50")]]
    model_rows = [{"description": "from the model", "amount": 9.5}]
    values, model = _extract(_page(1, bad), {"invoice_number": "R-1", "line_items": model_rows})
    assert "line_items" in model.requests[0].messages[0].content
    assert values["line_items"][0]["description"] == "from the model"
