"""What an item table read from the word boxes is (tools/tables reads it, tools/table_checks
judges it): its header columns, its rows with the words each was read from, the totals
printed under it and the decimal separator decided for it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from core.records import DocType

Word = dict[str, Any]

# Columns that hold text; the others hold numbers ("dimensions": three of them). "" is a
# header no label names, "_index" the row number, "container" a container number column.
TEXT = frozenset(
    {"description", "marks", "package_type", "unit", "origin_country", "hs_code", "_index"}
    | {"container", ""}
)
NUMERIC = re.compile(r"^[-+]?[\d.,'\u00a0]*\d[\d.,']*$")
_GROUP_HEAD = re.compile(r"^[-+]?\d{1,3}$")
_GROUP_TAIL = re.compile(r"^\d{3}(?:[.,]\d+)?$")

TotalKind = Literal["column", "subtotal", "total", "other"]


@dataclass
class Column:
    """A header: the field it names ("" for a header no label names) and its x-span."""

    name: str
    x0: float
    x1: float
    label: str = ""


@dataclass
class TableRow:
    """One item row: typed values keyed by record field, with where each was read.

    ``lines`` holds the row's words per column for each printed line (the first line and
    its wrapped ones), ``cells`` the text of each column, ``columns`` the header it stands
    under."""

    values: dict[str, Any]
    page: int
    box: tuple[float, float, float, float]
    index: str | None = None
    columns: list[Column] = field(default_factory=list)
    lines: list[dict[str, list[Word]]] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)


@dataclass
class Total:
    """A number printed under the table, with what its label says it totals."""

    label: str
    text: str
    kind: TotalKind
    column: str | None = None
    value: float | None = None


@dataclass
class Table:
    doc_type: DocType
    rows: list[TableRow] = field(default_factory=list)
    totals: list[Total] = field(default_factory=list)
    # Lines inside the table or under it that the reading left out although they look like
    # table text (a line under the header before the first row, an item-like line after
    # the table ended).
    unread: list[str] = field(default_factory=list)
    decimal: str | None = None
    ocr: bool = False
    passed: bool = False
    checks: list[str] = field(default_factory=list)  # what passed / failed, for the record

    def line_items(self) -> list[dict[str, Any]]:
        return [dict(r.values) for r in self.rows]

    def numbers(self) -> list[str]:
        """The printed numbers of the table: its numeric cells and its totals."""
        out = [t.text for t in self.totals]
        for row in self.rows:
            out += [text for name, text in row.cells.items() if name not in TEXT]
        return out


def height(word: Word) -> float:
    return max(1.0, float(word["y1"]) - float(word["y0"]))


def grouped(a: Word, b: Word) -> bool:
    """``a`` and ``b`` are one number grouped by a space (``10 890``, ``1 524,0``)."""
    return (
        bool(_GROUP_HEAD.match(str(a["text"])))
        and bool(_GROUP_TAIL.match(str(b["text"])))
        and float(b["x0"]) - float(a["x1"]) <= 0.6 * height(a)
    )
