"""Page groups on real PDFs: page-1 cues a real file carries, and the repeats that are not.

Each PDF is drawn with PyMuPDF and read back by the product's parser, so the page text is
what intake stores (text-layer order, the letterhead first, footers last).
"""

from __future__ import annotations

import fitz
import pytest

from agent.classify import split_groups
from tools.pagenum import Numbering, numbering
from tools.parse import parse_bytes
from tools.provenance import PageText

ACME = ["ACME Trading GmbH", "Hafenstrasse 12, 20457 Hamburg", "VAT DE123456789"]
BOLT = ["Bolt & Nut Ltd", "12 Quay Road, Felixstowe IP11 3QA", "VAT GB 998877665"]


def _page(
    letterhead: list[str],
    head: list[str],
    items: list[str],
    foot: list[str],
    numbered: str | None,
) -> list[str]:
    lines = [*letterhead, "", "COMMERCIAL INVOICE", *head, "", *items, "", *foot]
    return lines + ([numbered] if numbered else [])


def _invoice(
    letterhead: list[str],
    number_line: str,
    date_line: str,
    pages: int,
    *,
    page_label: str | None = "Page {i} of {n}",
    total: str = "Total EUR 1,250.00",
) -> list[list[str]]:
    """One invoice over ``pages`` pages: its header on every page, the total on the last."""
    out = []
    for i in range(1, pages + 1):
        items = [f"{10 * i + k}  Steel bolts M{k + 6}  100 pcs  2.50  250.00" for k in range(4)]
        foot = ["Subtotal carried forward 1,000.00"] if i < pages else ["Subtotal 1,050.00", total]
        if i == pages:
            foot.append("Thank you for your business")
        label = page_label.format(i=i, n=pages) if page_label else None
        out.append(_page(letterhead, [number_line, date_line], items, foot, label))
    return out


def _pdf(pages: list[list[str]]) -> list[PageText]:
    doc = fitz.open()
    for lines in pages:
        page = doc.new_page(width=595, height=842)
        for row, line in enumerate(lines):
            page.insert_text((50, 60 + 16 * row), line, fontsize=10)
    parsed = parse_bytes(doc.tobytes())
    return [PageText(number=p.number, text=p.text) for p in parsed.pages]


def _groups(pages: list[PageText]) -> list[list[int]]:
    return [[p.number for p in g] for g in split_groups(pages)]


def _three_invoices(page_label: str | None, labels: tuple[str, str]) -> list[list[str]]:
    number, date = labels
    return (
        _invoice(ACME, f"{number} 2026-0101", f"{date} 03.02.2026", 1, page_label=page_label)
        + _invoice(ACME, f"{number} 2026-0102", f"{date} 05.02.2026", 3, page_label=page_label)
        + _invoice(ACME, f"{number} 2026-0107", f"{date} 09.02.2026", 1, page_label=page_label)
    )


@pytest.mark.parametrize("page_label", ["Page {i} of {n}", "{i}/{n}", None])
@pytest.mark.parametrize(
    "labels",
    [
        ("Invoice No.", "Invoice date"),
        ("Document No.", "Date"),  # not an invoice-number label: the date + number pair
        ("Ref", "Issued"),  # no label we read at all: letterhead again after a total
    ],
)
def test_three_invoices_in_five_pages(page_label: str | None, labels: tuple[str, str]) -> None:
    pages = _pdf(_three_invoices(page_label, labels))
    assert _groups(pages) == [[1], [2, 3, 4], [5]]


def test_two_invoices_of_one_seller_with_the_same_letterhead() -> None:
    first = _invoice(BOLT, "Invoice No. BN-7781", "Date 12 Mar 2026", 2, page_label=None)
    second = _invoice(BOLT, "Invoice No. BN-7782", "Date 12 Mar 2026", 2, page_label=None)
    assert _groups(_pdf(first + second)) == [[1, 2], [3, 4]]


@pytest.mark.parametrize("page_label", ["Page {i} of {n}", "Seite {i} von {n}", "{i}/{n}", None])
def test_a_multi_page_invoice_repeating_its_header_stays_whole(page_label: str | None) -> None:
    pages = _pdf(
        _invoice(ACME, "Invoice No. 2026-0102", "Date 05.02.2026", 3, page_label=page_label)
    )
    assert _groups(pages) == [[1, 2, 3]]


def test_a_multi_page_invoice_with_a_total_on_each_page_stays_whole_by_its_numbering() -> None:
    # Every page ends with a (page) total and repeats the letterhead; "Page 2 of 2" continues.
    pages = _invoice(ACME, "Ref 7", "Issued 05.02.2026", 2, page_label="Page {i} of {n}")
    pages[0] = [*pages[0][:-1], "Total EUR 1,000.00", pages[0][-1]]
    assert _groups(_pdf(pages)) == [[1, 2]]


def test_numbering_that_does_not_continue_starts_a_document() -> None:
    a = _invoice(ACME, "Ref 1", "Issued 03.02.2026", 3, page_label="Page {i} of {n}")
    b = _invoice(ACME, "Ref 1", "Issued 03.02.2026", 3, page_label="Page {i} of {n}")
    # b's first page is missing: its "2 of 3" follows a's "3 of 3".
    assert _groups(_pdf(a + b[1:])) == [[1, 2, 3], [4, 5]]


def test_an_unnumbered_first_page_is_continued_by_page_two() -> None:
    pages = _invoice(ACME, "Ref 1", "Issued 03.02.2026", 3, page_label="Page {i} of {n}")
    pages[0] = pages[0][:-1]  # page 1 prints no number, as many invoices do
    assert _groups(_pdf(pages)) == [[1, 2, 3]]
    cover = [["Dear customer,", "please find our invoice enclosed.", "Kind regards"]]
    assert _groups(_pdf(cover + pages)) == [[1], [2, 3, 4]]


def test_page_two_after_more_unnumbered_pages_than_it_can_follow_starts_a_document() -> None:
    a = _invoice(BOLT, "Ref 1", "Issued 03.02.2026", 2, page_label=None)
    b = _invoice(BOLT, "Ref 1", "Issued 03.02.2026", 3, page_label="Page {i} of {n}")
    b[1] = [line for line in b[1] if "COMMERCIAL INVOICE" not in line]
    assert _groups(_pdf(a + b[1:])) == [[1, 2], [3, 4]]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Page 1 of 3", Numbering(1, 3)),
        ("page 2/3", Numbering(2, 3)),
        ("Seite 1 von 2", Numbering(1, 2)),
        ("Pagina 1 van 2", Numbering(1, 2)),
        ("Page 1 sur 2", Numbering(1, 2)),
        ("Página 2 de 4", Numbering(2, 4)),
        ("1/3", Numbering(1, 3)),
        ("Page 4", Numbering(4, None)),
        ("Pos 1/3 of the goods: 12 pcs", None),  # a fraction in a line of text
        ("Invoice 2026/0412", None),
        ("Page 4 of 3", None),  # not a page count
    ],
)
def test_page_numbering_formats(line: str, expected: Numbering | None) -> None:
    assert numbering(f"Some heading\n{line}\nmore text") == expected


def _without_total(pages: list[list[str]]) -> list[list[str]]:
    return [[line for line in page if not line.startswith("Total")] for page in pages]


def test_a_new_date_and_number_pair_starts_a_document() -> None:
    # No total before it, so the letterhead alone does not split: the pair does.
    a = _without_total(_invoice(ACME, "Document No. D-118", "Date 03.02.2026", 1, page_label=None))
    b = _invoice(ACME, "Document No. D-119", "Date 04.02.2026", 1, page_label=None)
    assert _groups(_pdf(a + b)) == [[1], [2]]
    same = _invoice(ACME, "Document No. D-118", "Date 04.02.2026", 1, page_label=None)
    assert _groups(_pdf(a + same)) == [[1, 2]]
