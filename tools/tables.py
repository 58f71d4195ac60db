"""Item tables read from the word boxes, before the model is asked.

The header row is found by its column labels (tools/table_header: EN / DE / NL / FR, for the
document type's line-item fields), on one line or wrapped onto the next (``Netto`` /
``gewicht kg``). Rows come from ``tools.layout.rows``; each word of a row goes to the column
whose header it stands under (by overlap with the header's span, else numbers by their right
edge, they are right-aligned, and text by its left edge; a text word at a word space after a
text word stays with it). A line with only a description (or marks) is a wrapped one and
joins the row above. The table goes on on the next page under a repeated header and stops at
the totals block, read by its labels (``Total packages``, ``Zollwert``, ``Subtotal``).

The decimal separator is decided once for the table, from the numbers of its cells and
totals (``core.values.decimal_of_numbers``), else from the document's text; every number is
then read with ``core.values.parse_number``.

The reader keeps what it saw (each row's words per column and line, the raw text of each
cell, the labelled totals) so that tools/table_checks can say whether the reading can stand
in for the model's; ``read_table`` runs those checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.records import DocType
from core.values import decimal_of, decimal_of_numbers, package_type_code, parse_number
from tools.layout import Cell, rows
from tools.pagenum import line_numbering
from tools.provenance import PageText
from tools.table_checks import check_table
from tools.table_header import INTS, SUMMED, find_header, is_header, total_label
from tools.table_model import (
    NUMERIC,
    TEXT,
    Column,
    Table,
    TableRow,
    Total,
    Word,
    grouped,
    height,
)

__all__ = ["Table", "TableRow", "Total", "read_table"]

# Record field names where the column name differs.
_RENAME: dict[DocType, dict[str, str]] = {"customs_declaration": {"hs_code": "commodity_code"}}
_NOT_IN_RECORD = {"_index", "container", ""}
_DIGIT = re.compile(r"[0-9]")


def _words_of(cells_row: list[Cell], words: list[Word]) -> list[Word]:
    """The words of one layout row (those whose centre lies in one of its cells)."""
    out = []
    for w in words:
        cx = (float(w["x0"]) + float(w["x1"])) / 2
        cy = (float(w["y0"]) + float(w["y1"])) / 2
        if any(c.x0 <= cx <= c.x1 and c.y0 <= cy <= c.y1 for c in cells_row):
            out.append(w)
    return sorted(out, key=lambda w: float(w["x0"]))


def _under(word: Word, cols: list[Column]) -> list[Column]:
    x0, x1 = float(word["x0"]), float(word["x1"])
    return [c for c in cols if min(x1, c.x1) - max(x0, c.x0) > 0]


def _assign(words: list[Word], cols: list[Column]) -> dict[str, list[Word]]:
    """Each word to the column it stands under."""
    placed: list[Column] = []
    prev: tuple[Column, float] | None = None
    for w in words:
        x0, x1 = float(w["x0"]), float(w["x1"])
        numeric = bool(NUMERIC.match(str(w["text"])))
        best: Column | None = None
        # A word at a word space after a text word stays in that column ("500 sheets" ends
        # a description), unless it reaches under a later column's header.
        if prev is not None and prev[0].name in TEXT:
            later = [c for c in cols if c.x0 > prev[0].x0]
            if x0 - prev[1] <= 0.6 * height(w) and (not later or x1 <= later[0].x0):
                best = prev[0]
        if best is None:
            overlaps = [(min(x1, c.x1) - max(x0, c.x0), c) for c in cols]
            good = [(o, c) for o, c in overlaps if o > 0]
            if good:
                best = max(good, key=lambda t: t[0])[1]
            else:
                key = x1 if numeric else x0
                best = min(cols, key=lambda c: min(abs(key - c.x0), abs(key - c.x1)))
        placed.append(best)
        prev = (best, x1)
    # A space-grouped number goes with its last group (numbers are right-aligned), unless
    # its first group stands under another header.
    for i in range(len(words) - 2, -1, -1):
        if (
            grouped(words[i], words[i + 1])
            and placed[i] is not placed[i + 1]
            and all(c is placed[i + 1] for c in _under(words[i], cols))
        ):
            placed[i] = placed[i + 1]
    out: dict[str, list[Word]] = {}
    for w, col in zip(words, placed, strict=True):
        out.setdefault(col.name, []).append(w)
    return out


def _box(words: list[Word]) -> tuple[float, float, float, float]:
    return (
        min(float(w["x0"]) for w in words),
        min(float(w["y0"]) for w in words),
        max(float(w["x1"]) for w in words),
        max(float(w["y1"]) for w in words),
    )


def _text(words: list[Word]) -> str:
    return " ".join(str(w["text"]) for w in words).strip()


def _has_number(parts: dict[str, list[Word]]) -> bool:
    """Digits in a numeric column, or under a header no label names."""
    return any(
        (n == "" or n not in TEXT) and any(_has_digit(w) for w in ws) for n, ws in parts.items()
    )


def _totals_line(
    words: list[Word], cols: list[Column], doc_type: DocType, in_totals: bool
) -> list[Total] | None:
    """The totals a line prints when it is a totals line (or any line once in the totals
    block), else None. A bare ``Total`` over several columns totals each column it stands
    under."""
    first = next((i for i, w in enumerate(words) if NUMERIC.match(str(w["text"]))), len(words))
    label, numbers = _text(words[:first]), words[first:]
    kind = total_label(label, doc_type)
    if kind is None and not in_totals:
        return None
    if not numbers:
        return []
    what, column = kind or ("other", None)
    chains = [[numbers[0]]]  # the printed numbers, a space-grouped one as one
    for w in numbers[1:]:
        if grouped(chains[-1][-1], w):
            chains[-1].append(w)
        else:
            chains.append([w])
    if what == "total" and len(chains) > 1:
        named = [(next(iter(_assign(c[-1:], cols))), c) for c in chains]
        return [Total(label, _text(c), "column", n) for n, c in named if n in SUMMED]
    return [Total(label, _text(numbers), what, column)]


def _labelled(words: list[Word]) -> bool:
    """A ``Label: value`` line (``Freight: COLLECT``, ``Place of issue: Busan, 09 Apr``)."""
    for w in words[:6]:
        if NUMERIC.match(str(w["text"])):
            return False
        if str(w["text"]).endswith(":"):
            return True
    return False


def _continues(parts: dict[str, list[Word]], words: list[Word], table: Table, gap: float) -> bool:
    """A line of only description or marks words close under the last row: wrapped text."""
    return (
        bool(table.rows)
        and set(parts) <= {"description", "marks"}
        and gap < 1.2 * height(words[0])
        and not _labelled(words)
    )


def _item_like(parts: dict[str, list[Word]]) -> bool:
    """A line that reads like an item row: a description and numbers in two columns."""
    numbers = [n for n, ws in parts.items() if n not in TEXT and any(_has_digit(w) for w in ws)]
    return "description" in parts and len(numbers) >= 2


def _has_digit(word: Word) -> bool:
    return bool(_DIGIT.search(str(word["text"])))


@dataclass
class _Reading:
    """Where the reading stands (the first four on the current page)."""

    cols: list[Column] | None = None  # the header the rows stand under
    ended: list[Column] | None = None  # the header of a table that ended on this page
    last_y1: float = 0.0
    skip: int = -1  # the header's second line
    in_totals: bool = False  # in the totals block under the table


def _header(grid: list[list[Word]], i: int, table: Table, at: _Reading) -> None:
    words = grid[i]
    below = grid[i + 1] if i + 1 < len(grid) else []
    close = bool(below) and float(below[0]["y0"]) - float(words[0]["y1"]) < height(words[0])
    if not close or any(_has_digit(w) for w in below):
        below = []
    found = find_header(words, below, table.doc_type)
    if is_header(found):
        at.cols, at.ended, at.skip = found, None, i + 1 if below else -1
        at.last_y1 = max(float(w["y1"]) for w in [*words, *below])
        at.in_totals = False


def _read_line(words: list[Word], page: int, table: Table, at: _Reading) -> None:
    assert at.cols is not None
    parts = _assign(words, at.cols)
    gap = min(float(w["y0"]) for w in words) - at.last_y1
    here = bool(table.rows) and table.rows[-1].page == page
    if not _has_number(parts):
        if here and _continues(parts, words, table, gap):
            table.rows[-1].lines.append(parts)
            at.last_y1 = max(float(w["y1"]) for w in words)
        elif not here and gap < height(words[0]) and not any(_has_digit(w) for w in words):
            table.unread.append(f"page {page}: '{_text(words)}' under the header")
            at.last_y1 = max(float(w["y1"]) for w in words)
        else:
            at.cols, at.ended = None, at.cols  # the table ended on this page
        return
    if _labelled(words):
        at.cols, at.ended = None, at.cols  # a "Label: value" line after the table
        return
    index = _text(parts.get("_index", [])) or None
    table.rows.append(TableRow({}, page, _box(words), index, at.cols, [parts]))
    at.last_y1 = max(float(w["y1"]) for w in words)


def _read_page(page: PageText, table: Table, at: _Reading) -> None:
    grid = [ws for r in rows(page.words) if (ws := _words_of(r, page.words))]
    at.cols, at.ended, at.last_y1, at.skip = None, None, 0.0, -1
    for i, words in enumerate(grid):
        if i == at.skip:
            continue
        if at.cols is None:
            _header(grid, i, table, at)
            if at.cols is None and at.ended and _item_like(_assign(words, at.ended)):
                table.unread.append(f"page {page.number}: '{_text(words)}' after the table")
            continue
        if line_numbering(_text(words)):
            at.cols = None
            continue
        totals = _totals_line(words, at.cols, table.doc_type, at.in_totals)
        if totals is not None:
            at.in_totals = True
            table.totals += totals
            continue
        _read_line(words, page.number, table, at)


def _cells(row: TableRow) -> dict[str, str]:
    """The text of each column over the row's lines."""
    cells: dict[str, str] = {}
    for parts in row.lines:
        for name, ws in parts.items():
            text = _text(ws)
            cells[name] = f"{cells[name]} {text}" if name in cells else text
    return cells


def _typed(doc_type: DocType, cells: dict[str, str], decimal: str | None) -> dict[str, Any]:
    """The record values of a row's cells; a cell that does not read as its column's type
    is left out (tools/table_checks sees the raw cell and fails the row)."""
    values: dict[str, Any] = {}
    rename = _RENAME.get(doc_type, {})
    for name, text in cells.items():
        if not text or name in _NOT_IN_RECORD:
            continue
        key = rename.get(name, name)
        if name == "dimensions":
            sides = re.findall(r"\d+(?:[.,]\d+)?", text)
            if len(sides) == 3 and re.fullmatch(
                r"[\d.,]+\s*[x×*]\s*[\d.,]+\s*[x×*]\s*[\d.,]+", text
            ):
                for side, number in zip(("length_cm", "width_cm", "height_cm"), sides, strict=True):
                    values[side] = parse_number(number, decimal=decimal)
        elif name == "hs_code":
            digits = re.sub(r"[\s.]", "", text)
            if digits.isdigit():
                values[key] = digits
        elif name == "package_type":
            if code := package_type_code(text):
                values[key] = code
        elif name in TEXT:
            values[key] = text
        elif (number := parse_number(text, decimal=decimal)) is not None:
            values[key] = int(number) if name in INTS and number.is_integer() else number
    return values


def read_table(pages: list[PageText], doc_type: DocType) -> Table:
    """The document's item table, with the checks' verdict (tools/table_checks)."""
    table = Table(doc_type, ocr=any(p.method != "text" for p in pages))
    at = _Reading()
    for page in pages:
        if page.words:
            _read_page(page, table, at)
    for row in table.rows:
        row.cells = _cells(row)
    table.decimal = decimal_of_numbers(table.numbers()) or decimal_of(
        "\n".join(p.text for p in pages)
    )
    for row in table.rows:
        row.values = _typed(doc_type, row.cells, table.decimal)
    for total in table.totals:
        total.value = parse_number(total.text, decimal=table.decimal)
    check_table(table)
    return table
