"""Rows and cells from word boxes: what is printed beside and below what on a page.

Words are grouped into rows by their vertical centre and each row is cut into cells at
wide horizontal gaps. A form that prints its labels in one row and their values in the
row below (``Invoice No.   Date   Currency`` over ``CI-1   05-01-2026   EUR``) then gives
each label the cell under it, which plain text order cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Cell:
    text: str
    x0: float
    x1: float
    y0: float
    y1: float


def _num(word: dict[str, Any], key: str) -> float:
    return float(word[key])


def rows(words: list[dict[str, Any]]) -> list[list[Cell]]:
    """Rows top to bottom, each a list of cells left to right."""
    usable = [w for w in words if str(w.get("text", "")).strip()]
    usable.sort(key=lambda w: (_num(w, "y0") + _num(w, "y1")) / 2)
    grouped: list[list[dict[str, Any]]] = []
    centre = -1e9
    for word in usable:
        mid = (_num(word, "y0") + _num(word, "y1")) / 2
        height = max(1.0, _num(word, "y1") - _num(word, "y0"))
        if grouped and abs(mid - centre) <= 0.5 * height:
            grouped[-1].append(word)
        else:
            grouped.append([word])
            centre = mid
    return [_cells(sorted(row, key=lambda w: _num(w, "x0"))) for row in grouped]


def _cells(row: list[dict[str, Any]]) -> list[Cell]:
    height = sorted(_num(w, "y1") - _num(w, "y0") for w in row)[len(row) // 2]
    gap = max(6.0, 1.2 * height)
    cells: list[list[dict[str, Any]]] = [[row[0]]]
    for word in row[1:]:
        if _num(word, "x0") - _num(cells[-1][-1], "x1") > gap:
            cells.append([word])
        else:
            cells[-1].append(word)
    return [
        Cell(
            text=" ".join(str(w["text"]) for w in cell),
            x0=min(_num(w, "x0") for w in cell),
            x1=max(_num(w, "x1") for w in cell),
            y0=min(_num(w, "y0") for w in cell),
            y1=max(_num(w, "y1") for w in cell),
        )
        for cell in cells
    ]


def below(grid: list[list[Cell]], r: int, cell: Cell, depth: int = 2) -> str | None:
    """The text of the cell under ``cell`` (row ``r``) in the next rows, if one is there."""
    for row in grid[r + 1 : r + 1 + depth]:
        for other in row:
            overlap = min(other.x1, cell.x1) - max(other.x0, cell.x0)
            if overlap > 0 or abs(other.x0 - cell.x0) < 12:
                return other.text
    return None
