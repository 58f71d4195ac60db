"""tools/tables: item tables read from word boxes, with the checks that gate them
(tools/table_checks)."""

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
    assert "totals by label: Total 9,50 is no column's sum" in table.checks


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


def _right(x1: float, text: str) -> tuple[float, str]:
    """A right-aligned cell ending at ``x1`` (the page helpers' 5 pt per character, 3 pt
    word spaces)."""
    return (x1 - 5.0 * len(text) - 3.0 * text.count(" "), text)


# A German packing list whose header wraps onto a second line; numbers right-aligned.
PL_HEAD = [
    (40, "Pos."),
    (70, "Beschreibung"),
    _right(240, "Packstücke"),
    (250, "Art"),
    _right(340, "Menge"),
    _right(410, "Netto"),
    _right(480, "Brutto"),
    (490, "Abmessungen cm"),
]
PL_HEAD_2 = [_right(410, "gewicht kg"), _right(480, "gewicht kg"), (490, "(LxBxH)")]


def _pl_row(
    i: int, desc: str, count: str, kind: str, qty: str, net: str, gross: str
) -> list[tuple[float, str]]:
    return [
        (40, str(i)),
        (70, desc),
        _right(240, count),
        (250, kind),
        _right(340, qty),
        _right(410, net),
        _right(480, gross),
        (490, "80 x 50 x 15"),
    ]


def _pl(*extra: list[tuple[float, str]], head: list[list[tuple[float, str]]] | None = None) -> Any:
    lines = [
        *(head or [PL_HEAD, PL_HEAD_2]),
        _pl_row(1, "Holzpellets 0.5 mm", "10", "SÄCKE", "1.960", "1.960,0", "2.056,5"),
        _pl_row(2, "Handtücher", "3", "DOZEN", "216", "49,5", "56,9"),
        *extra,
    ]
    return read_table([_page(1, lines)], "packing_list")


PL_TOTALS = [
    [(70, "Packstücke gesamt"), _right(240, "13")],
    [(70, "Nettogewicht kg"), _right(410, "2.009,5")],
    [(70, "Bruttogewicht kg"), _right(480, "2.113,4")],
]


def test_a_two_line_header_german_separators_and_package_kinds() -> None:
    table = _pl(*PL_TOTALS)
    assert table.passed, table.checks
    assert table.rows[0].values == {
        "description": "Holzpellets 0.5 mm",
        "package_count": 10,
        "package_type": "BAGS",
        "quantity": 1960.0,  # "1.960": the table's cells decide the separator, not "0.5"
        "net_weight_kg": 1960.0,
        "gross_weight_kg": 2056.5,
        "length_cm": 80.0,
        "width_cm": 50.0,
        "height_cm": 15.0,
    }
    assert table.rows[1].values["package_type"] == "CARTONS"  # Dutch "dozen"
    assert table.decimal == ","
    assert "totals by label matched: gross_weight_kg, net_weight_kg, package_count" in table.checks


def test_a_total_that_does_not_add_up_fails() -> None:
    wrong = [PL_TOTALS[0], [(70, "Nettogewicht kg"), _right(410, "2.019,5")], PL_TOTALS[2]]
    table = _pl(*wrong)
    assert not table.passed
    assert any(
        c.startswith("totals by label: Nettogewicht kg 2.019,5 != the net") for c in table.checks
    )


def test_swapped_columns_follow_their_labels_and_totals_go_by_label() -> None:
    # Brutto printed before Netto: each number goes to the column its header names, and
    # each labelled total is checked against its own column (not any column's sum).
    head = [[*PL_HEAD[:5], _right(410, "Brutto"), _right(480, "Netto"), PL_HEAD[7]], PL_HEAD_2]
    table = _pl(*PL_TOTALS, head=head)
    assert table.rows[0].values["gross_weight_kg"] == 1960.0
    assert not table.passed
    assert any("!= the net_weight_kg column's sum" in c for c in table.checks)


def test_a_header_read_on_one_line_only_leaves_an_unknown_column() -> None:
    # Without its second line "Netto" names no column: what stands under it is read by
    # nobody, and the table does not pass.
    table = _pl(*PL_TOTALS, head=[PL_HEAD])
    assert not table.passed
    assert any(c.startswith("column gutters:") and "unknown header" in c for c in table.checks)


def test_a_separator_nothing_decides_fails() -> None:
    lines = [
        INV_HEAD,
        _inv_row(1, "Kugellager", "1.200", "2", "2.400"),
        [(40, "Total"), (420, "2.400")],
    ]
    table = read_table([_page(1, lines)], "commercial_invoice")
    assert not table.passed
    assert any("no decimal separator decided" in c for c in table.checks)


def test_a_number_showing_the_other_separator_fails() -> None:
    lines = [
        INV_HEAD,
        _inv_row(1, "Kugellager", "2", "2,50", "5,00"),
        _inv_row(2, "Zahnpasta", "3", "0.50", "1,50"),
        [(40, "Gesamt"), (420, "6,50")],
    ]
    table = read_table([_page(1, lines)], "commercial_invoice")
    assert not table.passed
    assert any("'0.50' shows '.'" in c for c in table.checks)


def test_a_number_under_the_wrong_header_fails_the_gutters() -> None:
    # The unit price stands at a word space after the unit and reaches under its own
    # header: it is read as the unit price, not glued to the unit.
    head = [
        (40, "Pos."),
        (70, "Description"),
        _right(260, "Qty"),
        (270, "Unit"),
        _right(350, "Unit price"),
        _right(420, "Amount"),
    ]
    row = [
        (40, "1"),
        (70, "Pumps"),
        _right(260, "2"),
        (270, "PCS"),
        _right(350, "27,515.71"),
        _right(420, "55,031.42"),
    ]
    table = read_table(
        [_page(1, [head, row, [(40, "Total"), _right(420, "55,031.42")]])], "commercial_invoice"
    )
    assert table.rows[0].values["unit"] == "PCS" and table.rows[0].values["unit_price"] == 27515.71
    assert table.passed, table.checks
    # A quantity so wide that it reaches under the unit's header was misplaced or misprinted.
    wide = [*row[:2], _right(285, "2"), *row[3:]]
    table = read_table(
        [_page(1, [head, wide, [(40, "Total"), _right(420, "55,031.42")]])], "commercial_invoice"
    )
    assert not table.passed


def test_two_numbers_in_one_column_are_merged_cells() -> None:
    head = [(40, "Pos."), (70, "Description"), _right(260, "Qty"), _right(350, "Amount")]
    row = [(40, "1"), (70, "Pumps"), _right(260, "2"), _right(300, "7"), _right(350, "14.00")]
    table = read_table([_page(1, [head, row])], "commercial_invoice")
    assert not table.passed
    assert any(c.startswith("merged cells:") and "spans two cells" in c for c in table.checks)


def test_column_types_origin_hs_code_and_package_kind() -> None:
    head = [
        (40, "Pos."),
        (70, "Description"),
        (200, "HS code"),
        (260, "Origin"),
        _right(360, "Qty"),
        _right(430, "Amount"),
    ]
    good = [
        (40, "1"),
        (70, "Pumps"),
        (200, "8413.70"),
        (260, "DE"),
        _right(360, "2"),
        _right(430, "14.00"),
    ]
    assert read_table([_page(1, [head, good])], "commercial_invoice").passed
    for cell, value in ((2, (200, "84AB.70")), (3, (260, "XX"))):
        bad = list(good)
        bad[cell] = value
        table = read_table([_page(1, [head, bad])], "commercial_invoice")
        assert not table.passed and any(
            c.startswith("column types:") and "not a" in c for c in table.checks
        )
    table = _pl(_pl_row(3, "Ventile", "2", "STAPEL", "8", "1,0", "1,5"))
    assert any("package_type 'STAPEL' not a package kind" in c for c in table.checks)


BL_HEAD = [
    (40, "Marks"),
    (100, "Container No."),
    _right(240, "Packages"),
    (250, "Type"),
    (300, "Description of goods"),
    _right(520, "Gross weight kg"),
]


def test_a_container_column_is_checked_by_iso6346_and_kept_out_of_the_rows() -> None:
    def bl(container: str) -> Any:
        row = [
            (40, "M/01"),
            (100, container),
            _right(240, "5"),
            (250, "CTNS"),
            (300, "Office chairs"),
            _right(520, "289.7"),
        ]
        return read_table([_page(1, [BL_HEAD, row])], "bill_of_lading")

    table = bl("CSQU3054383")
    assert table.passed, table.checks
    assert table.line_items() == [
        {
            "marks": "M/01",
            "package_count": 5,
            "package_type": "CARTONS",
            "description": "Office chairs",
            "gross_weight_kg": 289.7,
        }
    ]
    table = bl("CSQU3054384")
    assert not table.passed
    assert any("container 'CSQU3054384' check digit" in c for c in table.checks)


def test_customs_totals_by_their_column_labels_are_not_rows() -> None:
    head = [
        (40, "Pos."),
        (70, "Warenbezeichnung"),
        (200, "Ursprung"),
        _right(330, "Zollwert"),
        _right(400, "Zoll"),
        _right(470, "EUSt"),
    ]
    lines = [
        head,
        [
            (40, "1"),
            (70, "Fliesen"),
            (200, "CN"),
            _right(330, "16.503,02"),
            _right(400, "660,12"),
            _right(470, "3.604,26"),
        ],
        [(40, "Zollwert"), _right(330, "16.503,02")],
        [(40, "Zoll"), _right(400, "660,12")],
        [(40, "EUSt"), _right(470, "3.604,26")],
    ]
    table = read_table([_page(1, lines)], "customs_declaration")
    assert len(table.rows) == 1 and table.passed, table.checks
    lines[4] = [(40, "EUSt"), _right(470, "3.604,62")]
    assert not read_table([_page(1, lines)], "customs_declaration").passed


def test_an_item_line_after_the_table_ended_fails() -> None:
    # A "Label:" line ends the table; an item row below it would be lost unseen.
    table = _pl(
        [(40, "Hinweis: zerbrechlich")], _pl_row(3, "Ventile", "2", "KISTEN", "8", "1,0", "1,5")
    )
    assert len(table.rows) == 2 and not table.passed
    assert any(c.startswith("complete rows:") and "after the table" in c for c in table.checks)


def test_a_space_grouped_number_after_a_package_kind_goes_to_its_column() -> None:
    # French thousands "10 890": the "10" stands at a word space after the package kind.
    head = [
        (40, "Pos."),
        (70, "Désignation"),
        _right(240, "Colis"),
        (250, "Type"),
        _right(350, "Qté"),
    ]
    row = [
        (40, "1"),
        (70, "Poutrelles"),
        _right(240, "10"),
        (250, "PALETTES"),
        (302, "10"),
        _right(350, "890"),
    ]
    table = read_table([_page(1, [head, row])], "packing_list")
    assert table.rows[0].values["quantity"] == 10890.0
    assert table.rows[0].values["package_type"] == "PALLETS"


def test_an_invoice_total_less_its_charges_is_the_amounts_sum() -> None:
    rows = GOOD[:-1]
    charges = [[(40, "Fracht"), (420, "3,50")], [(40, "Gesamtbetrag"), (420, "10,00")]]
    assert read_table([_page(1, [*rows, *charges])], "commercial_invoice").passed
    charges[1] = [(40, "Gesamtbetrag"), (420, "11,00")]
    assert not read_table([_page(1, [*rows, *charges])], "commercial_invoice").passed


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
    if any(p.method != "text" for p in pages):  # scans never pass; their reading is measured
        assert table.checks[0] == "text layer: words read by OCR"
        assert all(c.endswith(": ok") for c in table.checks[1:8]), table.checks
    else:
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
