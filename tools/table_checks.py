"""The checks that say whether an item table read from the word boxes (tools/tables) can
stand in for the model's rows. A table passes only when every check passes; each adds a
line to ``Table.checks`` saying what it found.

* **Text layer.** Words read by OCR fail the table: misread digits can still add up (on the
  dev part 6 of 25 scan tables passed the earlier, weaker check and were 0-40 % right), so
  scans stay with the model.
* **Column gutters.** Every word of a cell sits between its neighbours' headers: it does
  not reach under the header to its left or right (a word that does was read into the
  wrong column), and nothing stands under a header that no label names.
* **Merged cells.** No column holds, on one line, words from two printed cells (a gap
  wider than a word space between them), and no space-grouped number (``10 890``) is split
  between two columns.
* **Complete rows.** Every row has a description and a value in each numeric column its
  header names; no line inside the table, or item-like line after it, was left unread.
* **Column types.** Numbers where the column holds numbers (quantities, weights, amounts),
  package kinds in a package-type column (``core.values.package_type_code``), ISO 3166
  countries in an origin column, 6-10 digits in an HS code column, ISO 6346 numbers with
  their check digit in a container column (``core.values.container_problem``), a unit word
  in a unit column, ``L x W x H`` in a dimensions column, digits as row numbers.
* **Arithmetic.** Quantity x unit price = amount on every row that prints the three; row
  numbers, when printed, run 1..n.
* **Totals by label.** A printed total equals its column's sum: ``Total packages`` the
  package counts, ``Net weight kg`` the net weights, ``Zollwert`` the customs values, a
  ``Subtotal`` (or a bare ``Total``, less the charges printed above it) the amounts.
* **Decimal separator.** Decided once for the table (tools/tables); a number that shows the
  other separator, or an ambiguous ``1.960`` when nothing decided, fails the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise

from core.values import container_problem, decimal_shown
from tools.table_header import SUMMED
from tools.table_model import TEXT, Table, TableRow, Word, grouped, height
from tools.validate_codes import ISO_3166_ALPHA2, country_code

_AMBIGUOUS = re.compile(r"^[-+]?\d{1,3}[.,]\d{3}$")
_UNIT = re.compile(r"^[^\W\d_][^\W\d]*\.?(?:/[^\W\d_]+)?[²³]?$")
_HS = re.compile(r"^\d{6,10}$")


def _x(word: Word, key: str) -> float:
    return float(word[key])


def _join(words: list[Word]) -> str:
    return " ".join(str(w["text"]) for w in words)


def _where(row: TableRow) -> str:
    return f"row {row.index or '?'} (page {row.page})"


def text_layer(table: Table) -> list[str]:
    """Words read by OCR."""
    return ["words read by OCR"] if table.ocr else []


def gutters(table: Table) -> list[str]:
    """Words that reach under a neighbouring column's header, or stand under a header that
    no label names."""
    bad: list[str] = []
    for row in table.rows:
        cols = sorted(row.columns, key=lambda c: c.x0)
        for parts in row.lines:
            for name, words in parts.items():
                if name == "":
                    bad.append(f"{_where(row)}: '{_join(words)}' under an unknown header")
                    continue
                k = next(i for i, c in enumerate(cols) if c.name == name)
                left = cols[k - 1] if k > 0 else None
                right = cols[k + 1] if k + 1 < len(cols) else None
                for w in words:
                    if (right and _x(w, "x1") > right.x0 + 0.5) or (
                        left and _x(w, "x0") < left.x1 - 0.5
                    ):
                        bad.append(f"{_where(row)}: {name} '{w['text']}' crosses a gutter")
    return bad


def merged(table: Table) -> list[str]:
    """A column's words on one line with a gap wider than a word space between them, or a
    space-grouped number split between two columns."""
    bad: list[str] = []
    for row in table.rows:
        for parts in row.lines:
            line = sorted(
                ((w, name) for name, ws in parts.items() for w in ws), key=lambda t: _x(t[0], "x0")
            )
            for (a, col_a), (b, col_b) in pairwise(line):
                if col_a != col_b and grouped(a, b):
                    bad.append(f"{_where(row)}: '{a['text']} {b['text']}' split between columns")
            for name, words in parts.items():
                ordered = sorted(words, key=lambda w: _x(w, "x0"))
                gaps = [_x(b, "x0") - _x(a, "x1") for a, b in pairwise(ordered)]
                if any(g > max(6.0, 1.2 * height(ordered[0])) for g in gaps):
                    bad.append(f"{_where(row)}: {name} '{_join(ordered)}' spans two cells")
    return bad


def complete(table: Table) -> list[str]:
    """Rows without a description or a value in a numeric column; lines left unread."""
    bad = list(table.unread)
    for row in table.rows:
        if not row.cells.get("description"):
            bad.append(f"{_where(row)}: no description")
        for col in row.columns:
            if col.name not in TEXT and not row.cells.get(col.name):
                bad.append(f"{_where(row)}: no {col.name}")
    return bad


def _type_problem(name: str, text: str, row: TableRow) -> str | None:
    if name == "package_type":
        return None if row.values.get("package_type") else "not a package kind"
    if name == "origin_country":
        ok = text.upper() in ISO_3166_ALPHA2 or country_code(text) is not None
        return None if ok else "not a country"
    if name == "hs_code":
        return None if _HS.match(re.sub(r"[\s.]", "", text)) else "not an HS code"
    if name == "container":
        return container_problem(text)
    if name == "unit":
        return None if _UNIT.match(text) else "not a unit"
    if name == "_index":
        return None if text.isdigit() else "not a row number"
    if name == "dimensions":
        return None if "length_cm" in row.values else "not L x W x H"
    if name not in TEXT and name not in row.values:
        return "not a number"
    return None


def types(table: Table) -> list[str]:
    """Cells that do not hold what their column holds."""
    bad: list[str] = []
    for row in table.rows:
        for name, text in row.cells.items():
            if name in ("description", "marks", ""):
                continue
            if problem := _type_problem(name, text, row):
                bad.append(f"{_where(row)}: {name} '{text}' {problem}")
    return bad


def arithmetic(table: Table) -> list[str]:
    """Quantity x unit price != amount; row numbers that do not run 1..n."""
    bad = []
    for row in table.rows:
        q, p, a = (row.values.get(k) for k in ("quantity", "unit_price", "amount"))
        if (
            isinstance(q, float)
            and isinstance(p, float)
            and isinstance(a, float)
            and abs(q * p - a) > max(0.02, 0.005 * abs(a))
        ):
            bad.append(f"{_where(row)}: quantity x unit price != amount")
    indexes = [r.index or "" for r in table.rows]
    if any(indexes) and (
        not all(i.isdigit() for i in indexes)
        or [int(i) for i in indexes] != list(range(1, len(indexes) + 1))
    ):
        bad.append("row numbers do not run 1..n")
    return bad


def _close(total: float, printed: float, text: str = "") -> bool:
    """A sum equals a printed total to half a unit of the total's last printed digit."""
    decimals = re.search(r"[.,](\d{1,2})$", text.strip())
    unit = 10.0 ** -len(decimals.group(1)) if decimals else 1.0
    return abs(total - printed) <= max(0.011, unit / 2) + 1e-9 * abs(printed)


def _sum(table: Table, name: str) -> float | None:
    nums = [r.values.get(name) for r in table.rows]
    if not nums or not all(isinstance(v, int | float) for v in nums):
        return None
    return float(sum(v for v in nums if isinstance(v, int | float)))


def totals(table: Table) -> list[str]:
    """Printed totals that their column's sum does not give."""
    bad: list[str] = []
    subtotal = any(t.kind == "subtotal" for t in table.totals)
    charges = 0.0
    for t in table.totals:
        if t.value is None:
            if t.kind != "other":
                bad.append(f"total '{t.label} {t.text}' is not a number")
            continue
        if t.kind == "other":
            charges += t.value
        elif t.column:
            total = _sum(table, t.column)
            if total is None or not _close(total, t.value, t.text):
                bad.append(f"{t.label} {t.text} != the {t.column} column's sum {total}")
        elif t.kind == "total" and not subtotal:
            amount = _sum(table, "amount")
            if amount is not None:
                ok = _close(amount, t.value, t.text) or _close(amount + charges, t.value, t.text)
            else:
                sums = [s for n in SUMMED if (s := _sum(table, n)) is not None]
                ok = any(_close(s, t.value, t.text) for s in sums)
            if not ok:
                bad.append(f"{t.label} {t.text} is no column's sum")
    return bad


def decimals(table: Table) -> list[str]:
    """Numbers that show another decimal separator than the table's, or an ambiguous one
    when nothing decided."""
    bad = []
    for text in table.numbers():
        for token in text.split():
            shown = decimal_shown(token)
            if table.decimal and shown and shown != table.decimal:
                bad.append(f"'{token}' shows '{shown}' as its decimal separator")
            elif table.decimal is None and _AMBIGUOUS.match(token):
                bad.append(f"'{token}': no decimal separator decided")
    return bad


CHECKS: tuple[tuple[str, Callable[[Table], list[str]]], ...] = (
    ("text layer", text_layer),
    ("column gutters", gutters),
    ("merged cells", merged),
    ("complete rows", complete),
    ("column types", types),
    ("arithmetic", arithmetic),
    ("totals by label", totals),
    ("decimal separator", decimals),
)


def check_table(table: Table) -> None:
    """Run every check; the table passes when all pass."""
    if not table.rows:
        table.checks.append("no rows")
        table.passed = False
        return
    ok = True
    for name, run in CHECKS:
        bad = run(table)
        ok = ok and not bad
        more = f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""
        table.checks.append(f"{name}: " + ("; ".join(bad[:3]) + more if bad else "ok"))
    summed = sorted({t.column for t in table.totals if t.column})
    if summed:
        table.checks.append("totals by label matched: " + ", ".join(summed))
    table.passed = ok
