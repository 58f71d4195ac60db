"""Rows, cells and reading order from word boxes: what is printed beside and below what.

Words are grouped into rows by their vertical centre and each row is cut into cells at
wide horizontal gaps. A form that prints its labels in one row and their values in the
row below (``Invoice No.   Date   Currency`` over ``CI-1   05-01-2026   EUR``) then gives
each label the cell under it, which plain text order cannot (``rows``, ``below``: the
candidates of ``tools/candidates`` read them).

``layout_text`` renders a page's words as the text the model reads, the way a person
reads the page:

* **Columns before rows.** A vertical gutter that runs down a region, with lines on its
  two sides that do not share rows, splits the region into side-by-side columns read one
  after the other, top to bottom (a two-column form no longer interleaves into
  ``Ocean vessel Port of loading SHANGHAI, CHINA``). Sides whose lines do share rows are
  a table or a grid of boxes and stay rows. A wide empty band across a region splits it
  into sections read top to bottom.
* **Table rows as rows.** Each row is one line, its cells joined by `` | `` (header row
  kept), so a line item's description, quantity and amount stay together.
* **Labels with their values.** A row of labels over a row of values becomes
  ``Invoice No.: CI-1 | Date: 05-01-2026 | Currency: EUR``; side-by-side blocks under a
  row of titles (``Shipper``, ``Consignee``: multi-line party blocks) are read block by
  block, ``Shipper: <name>`` then the block's other lines.

No padding: a cell gap costs `` | `` whatever its width. Measured on the dev part of the
golden set (``python -m evals.layoutcheck``, docs/evals.md, issue #12): line items on one
line 4.3 % -> 97.8 %, labels on one line with their value 37.9 % -> 87.3 %, for 6 % more
prompt tokens than the parser's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from statistics import median
from typing import Any

Word = dict[str, Any]


@dataclass(frozen=True)
class Cell:
    text: str
    x0: float
    x1: float
    y0: float
    y1: float


def _num(word: Word, key: str) -> float:
    return float(word[key])


def _mid(word: Word) -> float:
    return (_num(word, "y0") + _num(word, "y1")) / 2


def _height(word: Word) -> float:
    return max(1.0, _num(word, "y1") - _num(word, "y0"))


def _usable(words: list[Word]) -> list[Word]:
    return [w for w in words if str(w.get("text", "")).strip()]


def _group(words: list[Word], cap: float | None = None) -> list[list[Word]]:
    """Words in rows by vertical centre, top to bottom, each row left to right.

    A word joins the current row when its centre is within half its height of the row's
    first word; ``cap`` bounds that height (OCR boxes of ``|`` or ``[`` drawn over a box
    border are much taller than the text and would pull in the next row).
    """
    grouped: list[list[Word]] = []
    centre = -1e9
    for word in sorted(words, key=_mid):
        height = _height(word) if cap is None else min(_height(word), cap)
        if grouped and abs(_mid(word) - centre) <= 0.5 * height:
            grouped[-1].append(word)
        else:
            grouped.append([word])
            centre = _mid(word)
    return [sorted(row, key=lambda w: _num(w, "x0")) for row in grouped]


def rows(words: list[dict[str, Any]]) -> list[list[Cell]]:
    """Rows top to bottom, each a list of cells left to right."""
    return [_cells(row) for row in _group(_usable(words))]


def _row_height(row: list[Word]) -> float:
    return sorted(_num(w, "y1") - _num(w, "y0") for w in row)[len(row) // 2]


def _cells(
    row: list[Word],
    gap: float | None = None,
    split: Callable[[Word, Word], bool] | None = None,
) -> list[Cell]:
    """``row`` cut where ``split`` says, or at gaps wider than ``gap`` (default: 1.2 row
    heights, at least 6)."""
    if split is None:
        width = max(6.0, 1.2 * _row_height(row)) if gap is None else gap
        split = lambda a, b: _num(b, "x0") - _num(a, "x1") > width  # noqa: E731
    cells: list[list[Word]] = [[row[0]]]
    for word in row[1:]:
        if split(cells[-1][-1], word):
            cells.append([word])
        else:
            cells[-1].append(word)
    return [
        Cell(
            text=" ".join(str(w["text"]).strip() for w in cell),
            x0=min(_num(w, "x0") for w in cell),
            x1=max(_num(w, "x1") for w in cell),
            y0=min(_num(w, "y0") for w in cell),
            y1=max(_num(w, "y1") for w in cell),
        )
        for cell in cells
    ]


def _spacing(a: Word, b: Word) -> float:
    """The gap between two words of a row in their characters' mean width."""
    chars = len(str(a["text"]).strip()) + len(str(b["text"]).strip())
    width = _num(a, "x1") - _num(a, "x0") + _num(b, "x1") - _num(b, "x0")
    return (_num(b, "x0") - _num(a, "x1")) / max(width / max(chars, 1), 0.1)


def below(grid: list[list[Cell]], r: int, cell: Cell, depth: int = 2) -> str | None:
    """The text of the cell under ``cell`` (row ``r``) in the next rows, if one is there."""
    for row in grid[r + 1 : r + 1 + depth]:
        for other in row:
            overlap = min(other.x1, cell.x1) - max(other.x0, cell.x0)
            if overlap > 0 or abs(other.x0 - cell.x0) < 12:
                return other.text
    return None


# ---- reading order: sections and columns ------------------------------------------------

# A gutter is at least this many text heights wide; a section break this many high.
_GUTTER = 1.5
_SECTION = 1.5
# Lines on two sides of a gutter "share rows" when their centres are this close (heights)
# for at least this share of the lines of the side with fewer lines.
_SAME_ROW = 0.35
_ALIGNED = 0.6


@dataclass(frozen=True)
class _Page:
    height: float  # median word height
    split: float  # a gap wider than this many character widths starts a new cell
    ocr: bool  # boxes hug the glyphs: their heights say nothing of the font size


def _gaps(spans: list[tuple[float, float]], min_gap: float) -> list[tuple[float, float]]:
    """Empty intervals at least ``min_gap`` wide between the projected ``spans``."""
    out: list[tuple[float, float]] = []
    spans = sorted(spans)
    reach = spans[0][1]
    for start, end in spans[1:]:
        if start - reach >= min_gap:
            out.append((reach, start))
        reach = max(reach, end)
    return out


def _line_centres(words: list[Word], page: _Page) -> list[float]:
    return [median(_mid(w) for w in row) for row in _group(words, cap=page.height)]


def _share_rows(left: list[Word], right: list[Word], page: _Page) -> bool:
    """Lines beside each other mostly stand on common rows (a table, a grid of boxes).
    Only lines with a line of the other side within a line height count: a letterhead
    over a table's last columns, or totals under them, cannot interleave with anything."""
    a, b = _line_centres(left, page), _line_centres(right, page)
    sides = []
    for side, other in ((a, b), (b, a)):
        near = [min(abs(c - o) for o in other) for c in side]
        sides.append([d for d in near if d <= page.height])
    counted = min(sides, key=len)
    if not counted:
        return True
    paired = sum(1 for d in counted if d <= _SAME_ROW * page.height)
    return paired >= _ALIGNED * len(counted)


def _split_columns(words: list[Word], page: _Page) -> list[list[Word]] | None:
    """The region cut at its widest gutter whose sides do not share rows, if it has one."""
    spans = [(_num(w, "x0"), _num(w, "x1")) for w in words]
    gutters = sorted(_gaps(spans, _GUTTER * page.height), key=lambda g: g[0] - g[1])
    for x0, x1 in gutters:
        left = [w for w in words if _num(w, "x1") <= x0]
        right = [w for w in words if _num(w, "x0") >= x1]
        if not _share_rows(left, right, page):
            return [left, right]
    return None


def _split_sections(words: list[Word], page: _Page) -> list[list[Word]]:
    spans = [(_num(w, "y0"), _num(w, "y1")) for w in words]
    cuts = [(a + b) / 2 for a, b in _gaps(spans, _SECTION * page.height)]
    sections: list[list[Word]] = [[] for _ in range(len(cuts) + 1)]
    for word in words:
        sections[sum(1 for c in cuts if _mid(word) > c)].append(word)
    return [s for s in sections if s]


def _regions(words: list[Word], page: _Page) -> list[list[Word]]:
    """Leaf regions in reading order: columns left to right, sections top to bottom."""
    columns = _split_columns(words, page)
    if columns is not None:
        return [r for part in columns for r in _regions(part, page)]
    sections = _split_sections(words, page)
    if len(sections) > 1:
        return [r for part in sections for r in _regions(part, page)]
    return [words]


# ---- a region's rows: labels over values, blocks, tables ---------------------------------

_BOX_NUMBER = re.compile(r"^\d{1,2}[a-z]?\s+(?=\D)")
_PARENS = re.compile(r"\([^)]*\)")
_FIGURE = re.compile(r"^[\d.,'/%\s+-]+$")


def _label_like(text: str) -> bool:
    """Short text without digits (a form's box number and a bracketed note aside)."""
    core = _PARENS.sub("", _BOX_NUMBER.sub("", text.strip()))
    return (
        any(c.isalpha() for c in core)
        and not any(c.isdigit() for c in core)
        and len(core.split()) <= 6
        and len(core) <= 60
    )


def _row_is_labels(row: list[Cell]) -> bool:
    return all(_label_like(c.text) for c in row)


def _column_of(cell: Cell, header: list[Cell], height: float) -> int | None:
    """The header cell ``cell`` sits under (most overlap, or the same left edge)."""
    best, best_overlap = None, 0.0
    for i, head in enumerate(header):
        overlap = min(cell.x1, head.x1) - max(cell.x0, head.x0)
        if overlap > best_overlap or (best is None and abs(cell.x0 - head.x0) < height):
            best, best_overlap = i, max(overlap, 0.0)
    return best


def _fits(row: list[Cell], header: list[Cell], height: float) -> list[int] | None:
    columns = [_column_of(c, header, height) for c in row]
    if any(c is None for c in columns) or len(set(columns)) < len(columns):
        return None
    return [c for c in columns if c is not None]


def _caption(grid: list[list[Cell]], k: int, page: _Page) -> bool:
    """Row ``k`` is printed smaller than the row under it (a form's box captions)."""
    if page.ocr or k + 1 >= len(grid):
        return False
    size = median(c.y1 - c.y0 for c in grid[k])
    return size < 0.85 * median(c.y1 - c.y0 for c in grid[k + 1])


def _opens_group(grid: list[list[Cell]], k: int, page: _Page) -> bool:
    """Row ``k`` is a row of labels with its own values under it."""
    if not _row_is_labels(grid[k]):
        return False
    if _caption(grid, k, page):
        return True
    after = grid[k + 1] if k + 1 < len(grid) else None
    return (
        after is not None
        and not _row_is_labels(after)
        and _fits(after, grid[k], page.height) is not None
    )


def _centre(row: list[Cell]) -> float:
    return median((c.y0 + c.y1) / 2 for c in row)


def _pitch(grid: list[list[Cell]], k: int) -> float:
    """How far row ``k`` sits below the row above it (centre to centre)."""
    return _centre(grid[k]) - _centre(grid[k - 1])


def _body(grid: list[list[Cell]], r: int, page: _Page) -> list[tuple[list[Cell], list[int]]]:
    """The rows under the label row ``r`` that sit under its cells at the line pitch of
    the first one, up to the next row of labels."""
    header = grid[r]
    out: list[tuple[list[Cell], list[int]]] = []
    pitch = 0.0
    for k in range(r + 1, len(grid)):
        row = grid[k]
        columns = _fits(row, header, page.height)
        if columns is None:
            break
        if not out:
            if _pitch(grid, k) > 2.5 * page.height or (
                len(header) > 1 and 2 * len(row) <= len(header)
            ):
                break
            pitch = _pitch(grid, k)
        elif _pitch(grid, k) > 1.3 * pitch or _opens_group(grid, k, page):
            break
        out.append((row, columns))
    return out


def _joined(row: list[Cell]) -> str:
    out = row[0].text
    for cell in row[1:]:
        out += (" " if out.endswith(":") else " | ") + cell.text
    return out


def _pair(label: str, value: str) -> str:
    return f"{label} {value}" if label.endswith(":") else f"{label}: {value}"


def _is_blocks(header: list[Cell], body: list[tuple[list[Cell], list[int]]]) -> bool:
    """Side-by-side blocks under titles (party addresses), not a table nor a list of
    labels and values: the first lines hold no digits (names), no line is a bare figure
    (a quantity, an amount) and the first column is not all labels."""
    if len(header) < 2 or len(body) < 2:
        return False
    first = body[0][0]
    if len(first) < 2 or any(c.isdigit() for cell in first for c in cell.text):
        return False
    if all(_label_like(row[0].text) for row, columns in body if columns[0] == 0):
        return False
    return not any(_FIGURE.match(cell.text) for row, _ in body for cell in row)


def _render_group(header: list[Cell], body: list[tuple[list[Cell], list[int]]]) -> list[str]:
    if _is_blocks(header, body):
        lines = []
        for i, title in enumerate(header):
            mine = [row[k].text for row, cols in body for k, c in enumerate(cols) if c == i]
            lines += [_pair(title.text, mine[0]), *mine[1:]] if mine else [title.text]
        return lines
    if sum(1 for row, _ in body if len(row) >= 2) >= 2:  # a table: header, then its rows
        return [_joined(header)] + [_joined(row) for row, _ in body]
    first, columns = body[0]
    values = dict(zip(columns, (c.text for c in first), strict=True))
    pairs = [_pair(h.text, values[i]) if i in values else h.text for i, h in enumerate(header)]
    return [" | ".join(pairs)] + [_joined(row) for row, _ in body[1:]]


def _labels_over_values(grid: list[list[Cell]], r: int, page: _Page) -> bool:
    """Row ``r`` heads the rows under it: three or more labels, or labels printed as
    captions or ending with a colon. One or two cells over as many are more often lines
    of a paragraph or of a list of labels and values (``Freight | COLLECT`` over
    ``Place of issue | Shanghai``)."""
    header = grid[r]
    return len(header) >= 3 or _caption(grid, r, page) or all(c.text.endswith(":") for c in header)


def _render_region(words: list[Word], page: _Page) -> list[str]:
    grid = []
    for row in _group(words, cap=page.height):
        grid.append(_cells(row, split=lambda a, b: _spacing(a, b) > page.split))
    lines: list[str] = []
    r = 0
    while r < len(grid):
        body = _body(grid, r, page) if _row_is_labels(grid[r]) else []
        if body and not _is_blocks(grid[r], body) and not _labels_over_values(grid, r, page):
            body = []
        if body:
            lines += _render_group(grid[r], body)
            r += 1 + len(body)
        else:
            lines.append(_joined(grid[r]))
            r += 1
    return lines


def _measure(words: list[Word]) -> _Page:
    """The page's text height and where a gap between words starts a new cell: beyond
    the wider spaces of the page (monospace printouts and OCR boxes that hug the glyphs
    space words by one to two character widths, proportional fonts by half of one)."""
    height = median(_height(w) for w in words)
    spaces = sorted(
        gap
        for row in _group(words, cap=height)
        for a, b in pairwise(row)
        if 0 <= (gap := _spacing(a, b)) < 2.5
    )
    space = spaces[len(spaces) // 2] if len(spaces) >= 8 else 1.0
    ocr = any(w.get("conf") is not None for w in words)
    return _Page(height=height, split=max(1.25, 1.4 * space), ocr=ocr)


def _slope(words: list[Word], height: float) -> float:
    """The median rise per unit of width between each word and its right-hand neighbour
    on the same printed line: the page's skew."""
    ordered = sorted(words, key=lambda w: _num(w, "x0"))
    rises = []
    for i, word in enumerate(ordered):
        for other in ordered[i + 1 :]:
            gap = _num(other, "x0") - _num(word, "x1")
            if gap > 2 * height:
                break
            if gap >= 0 and abs(_mid(other) - _mid(word)) < 0.5 * height:
                run = _num(other, "x0") + _num(other, "x1") - _num(word, "x0") - _num(word, "x1")
                rises.append((_mid(other) - _mid(word)) / (run / 2))
                break
    return median(rises) if len(rises) >= 10 else 0.0


def _deskewed(words: list[Word], height: float) -> list[Word]:
    """Words with their rows levelled: a scan turned by a degree or two drifts by more than
    a line height across the page, which would cut each printed line into pieces."""
    slope = _slope(words, height)
    if abs(slope) < 0.003:  # under 0.2 degrees: level
        return words
    out = []
    for w in words:
        shift = (_num(w, "x0") + _num(w, "x1")) / 2 * slope
        out.append({**w, "y0": _num(w, "y0") - shift, "y1": _num(w, "y1") - shift})
    return out


_BORDER = "|[]_"


def _unboxed(words: list[Word]) -> list[Word]:
    """OCR words without the box borders Tesseract reads as ``|``, ``[``, ``]`` or ``_``
    at their ends (``[CARTONS``, ``509,6|``); text-layer words (no ``conf``) are kept."""
    out = []
    for w in words:
        if w.get("conf") is None:
            out.append(w)
        elif text := str(w["text"]).strip().strip(_BORDER).strip():
            out.append({**w, "text": text})
    return out


def layout_text(words: list[dict[str, Any]]) -> str:
    """The page's words as text in reading order (see the module docstring)."""
    usable = _unboxed(_usable(words))
    if not usable:
        return ""
    usable = _deskewed(usable, median(_height(w) for w in usable))
    page = _measure(usable)
    return "\n".join(
        line for region in _regions(usable, page) for line in _render_region(region, page)
    )
