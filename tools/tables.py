"""Item tables read from the word boxes, before the model is asked.

The header row is found by its column labels (EN / DE / NL / FR) for the document type's
line-item fields; a header may wrap onto a second line (``Netto gewicht`` / ``kg``). Rows
come from ``tools.layout.rows``; each word of a row goes to the column whose header it
stands under (numbers by their right edge, they are right-aligned; text by its left edge,
and a word that follows a text word at a word space stays with it). A row with only a
description is a wrapped description and joins the row above. The table goes on on the
next page under a repeated header and stops at the totals block (``Total``, ``Summe``,
``Totaal``, ``Sous-total`` ...). Numbers are read with ``core.values.parse_number`` and the
document's decimal separator.

The self-check says whether the reading can stand in for the model's: quantity x unit
price = amount on every row that prints all three, the row numbers run 1..n when printed,
and a column's sum is one of the printed totals when a totals block is there; with no
totals block every row must carry its description and a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core.records import DocType
from core.values import decimal_of, parse_number
from tools.layout import rows
from tools.pagenum import line_numbering
from tools.provenance import PageText

# Column labels per line-item field, by document type; "_index" is the row number column.
_ANY = {
    "_index": r"pos\.?|item|line|no\.?|nr\.?|n[°º]|#",
    "description": (
        r"description(?:\s+of\s+goods)?|goods\s+description|omschrijving(?:\s+goederen)?"
        r"|beschreibung|warenbezeichnung|waren(?:beschreibung)?|d[ée]signation(?:\s+des"
        r"\s+marchandises)?|description\s+des\s+marchandises|artikel|article"
    ),
    "hs_code": (
        r"hs[\s-]*code|hs\s+no\.?|tariff\s+code|commodity\s+code|zolltarif(?:nr\.?|nummer)?"
        r"|warennummer|goederencode|gn[\s-]?code|gn-|hs-|code\s+sh|code\s+marchandise|code"
    ),
    "origin_country": r"origin|ursprung(?:sland)?|herkomst|oorsprong|origine",
    "quantity": r"qty|quantity|menge|anzahl|aantal|quantit[ée]|qt[ée]",
    "unit": r"unit|einheit|eenheid|unit[ée]",
    "unit_price": (
        r"unit\s+price|price(?:\s+per\s+unit)?|prijs\s+per\s+eenheid|einzelpreis|preis|stückpreis|eenheidsprijs|prijs|prix(?:\s+unitaire)?"
    ),
    "amount": r"amount|total|betrag|gesamt|bedrag|totaal|montant",
    "package_count": r"packages|pkgs|colli|packst[üu]cke|anzahl\s+packst[üu]cke|colis",
    "package_type": r"kind|type|art|soort|sorte|nature",
    "net_weight_kg": r"net(?:to)?\s+(?:weight|gewicht)|nettogewicht|poids\s+net",
    "gross_weight_kg": (
        r"gross\s+weight|brutto\s*gewicht|bruttogewicht|bruto\s+gewicht|poids\s+brut"
    ),
    "dimensions": r"dimensions|abmessungen|afmetingen|ma(?:ß|ss)e",
    "volume_m3": r"volume|volumen|vol\.?|cbm|m3|m³",
    "marks": r"marks(?:\s*(?:&|and)\s*n(?:o|umber)s\.?)?|markierungen|merken|marques",
    "net_mass_kg": r"net\s+mass|eigenmasse|nettomasse|netto\s*massa|masse\s+nette|net\s+weight",
    "customs_value": (
        r"customs\s+value|zollwert|douanewaarde|valeur(?:\s+en)?(?:\s+douane)?"
        r"|statistical\s+value"
    ),
    "duty": r"duty|zoll|einfuhrzoll|invoerrecht(?:en)?|rechten|droits(?:\s+de\s+douane)?",
    "vat": r"vat|eust|einfuhrumsatzsteuer|btw(?:\s+bij\s+invoer)?|tva(?:\s+import)?|mwst",
}

_FIELDS: dict[DocType, tuple[str, ...]] = {
    "commercial_invoice": (
        "description",
        "hs_code",
        "origin_country",
        "quantity",
        "unit",
        "unit_price",
        "amount",
    ),
    "packing_list": (
        "description",
        "package_count",
        "package_type",
        "quantity",
        "net_weight_kg",
        "gross_weight_kg",
        "dimensions",
    ),
    "bill_of_lading": (
        "marks",
        "package_count",
        "package_type",
        "description",
        "hs_code",
        "gross_weight_kg",
        "volume_m3",
    ),
    "customs_declaration": (
        "hs_code",
        "description",
        "origin_country",
        "net_mass_kg",
        "customs_value",
        "duty",
        "vat",
    ),
}
# Record field names where the column name differs.
_RENAME: dict[DocType, dict[str, str]] = {"customs_declaration": {"hs_code": "commodity_code"}}
_INTS = {"package_count"}
_TEXT = {"description", "marks", "package_type", "unit", "origin_country", "hs_code", "_index"}
_SUMMED = (
    "amount",
    "quantity",
    "package_count",
    "net_weight_kg",
    "gross_weight_kg",
    "volume_m3",
    "net_mass_kg",
    "customs_value",
    "duty",
    "vat",
)
_TOTALS = re.compile(
    r"^\s*(?:sub[\s-]*total|total|totals|grand\s+total|zwischensumme|summe|gesamt|"
    r"subtotaal|totaal|sous[\s-]*total|montant\s+total|net\s+total)\b",
    re.IGNORECASE,
)
_NUMERIC = re.compile(r"^[-+]?[\d.,'\u00a0]*\d[\d.,']*$")


@dataclass
class Column:
    name: str
    x0: float
    x1: float


@dataclass
class TableRow:
    """One item row: typed values keyed by record field, with where each was read."""

    values: dict[str, Any]
    page: int
    box: tuple[float, float, float, float]
    index: str | None = None


@dataclass
class Table:
    doc_type: DocType
    rows: list[TableRow] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)
    passed: bool = False
    checks: list[str] = field(default_factory=list)  # what passed / failed, for the record

    def line_items(self) -> list[dict[str, Any]]:
        return [dict(r.values) for r in self.rows]


def _label_res(doc_type: DocType) -> list[tuple[str, re.Pattern[str]]]:
    names = ("_index", *_FIELDS[doc_type])
    return [(n, re.compile(rf"^(?:{_ANY[n]})$", re.IGNORECASE)) for n in names]


def _words_of(cells_row: list[Any], words: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The words of one layout row (those whose centre lies in one of its cells)."""
    out = []
    for w in words:
        cx = (float(w["x0"]) + float(w["x1"])) / 2
        cy = (float(w["y0"]) + float(w["y1"])) / 2
        if any(c.x0 <= cx <= c.x1 and c.y0 <= cy <= c.y1 for c in cells_row):
            out.append(w)
    return sorted(out, key=lambda w: float(w["x0"]))


def _header(words: list[dict[str, Any]], doc_type: DocType) -> list[Column]:
    """The columns a row names, longest label first (``Unit price`` before ``Unit``)."""
    res = _label_res(doc_type)
    cols: list[Column] = []
    i = 0
    texts = [str(w["text"]).strip().rstrip(":") for w in words]
    while i < len(words):
        hit = None
        for n in (5, 4, 3, 2, 1):
            if i + n > len(words):
                continue
            phrase = " ".join(texts[i : i + n])
            for name, pattern in res:
                if pattern.match(phrase) and not any(c.name == name for c in cols):
                    hit = (name, n)
                    break
            if hit:
                break
        if hit is None:
            i += 1
            continue
        name, n = hit
        span = words[i : i + n]
        cols.append(Column(name, float(span[0]["x0"]), float(span[-1]["x1"])))
        i += n
    return cols


def _is_header(cols: list[Column], doc_type: DocType) -> bool:
    names = {c.name for c in cols}
    return "description" in names and len(names - {"_index"}) >= 3


def _assign(words: list[dict[str, Any]], cols: list[Column]) -> dict[str, list[dict[str, Any]]]:
    """Each word to the column it stands under."""
    out: dict[str, list[dict[str, Any]]] = {}
    prev: tuple[str, float] | None = None
    for w in words:
        text = str(w["text"])
        x0, x1 = float(w["x0"]), float(w["x1"])
        height = max(1.0, float(w["y1"]) - float(w["y0"]))
        numeric = bool(_NUMERIC.match(text))
        best: Column | None = None
        # A text word at a word space after a text word stays in that column, unless it
        # starts at or beyond the next column's header.
        if prev is not None and prev[0] in _TEXT and x0 - prev[1] <= 0.6 * height:
            same = next(c for c in cols if c.name == prev[0])
            later = [c for c in cols if c.x0 > same.x0]
            if (
                not later
                or x0 < min(c.x0 for c in later) - 1
                or (
                    not numeric
                    and prev[0] == "description"
                    and x0 < min(c.x0 for c in later) + 0.5 * height
                )
            ):
                best = same
        if best is None:
            overlaps = [(min(x1, c.x1) - max(x0, c.x0), c) for c in cols]
            good = [(o, c) for o, c in overlaps if o > 0]
            if good:
                best = max(good, key=lambda t: t[0])[1]
            else:
                key = x1 if numeric else x0
                best = min(cols, key=lambda c: min(abs(key - c.x0), abs(key - c.x1)))
        out.setdefault(best.name, []).append(w)
        prev = (best.name, x1)
    return out


def _typed(
    doc_type: DocType, parts: dict[str, list[dict[str, Any]]], decimal: str | None
) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    rename = _RENAME.get(doc_type, {})
    for name, words in parts.items():
        text = " ".join(str(w["text"]) for w in words).strip()
        if not text or name == "_index":
            continue
        if name == "dimensions":
            sides = re.findall(r"\d+(?:[.,]\d+)?", text)
            if len(sides) == 3:
                for side, number in zip(("length_cm", "width_cm", "height_cm"), sides, strict=True):
                    values[side] = parse_number(number, decimal=decimal)
            continue
        key = rename.get(name, name)
        if name == "hs_code":
            digits = re.sub(r"[\s.]", "", text)
            if not digits.isdigit():
                return None
            values[key] = digits
        elif name in _TEXT:
            values[key] = text
        else:
            number = parse_number(text, decimal=decimal)
            if number is None:
                return None
            values[key] = int(number) if name in _INTS and number.is_integer() else number
    return values


def _box(words: list[dict[str, Any]]) -> tuple[float, float, float, float]:
    return (
        min(float(w["x0"]) for w in words),
        min(float(w["y0"]) for w in words),
        max(float(w["x1"]) for w in words),
        max(float(w["y1"]) for w in words),
    )


def read_table(pages: list[PageText], doc_type: DocType) -> Table:
    """The document's item table, with the self-check's verdict."""
    table = Table(doc_type)
    decimal = decimal_of("\n".join(p.text for p in pages))
    in_totals = False
    for page in pages:
        if not page.words:
            continue
        grid = rows(page.words)
        cols: list[Column] | None = None
        last_y1 = 0.0
        for r in grid:
            words = _words_of(r, page.words)
            if not words:
                continue
            line = " ".join(c.text for c in r)
            if cols is None:
                found = _header(words, doc_type)
                if _is_header(found, doc_type):
                    cols, in_totals = found, False
                    last_y1 = max(float(w["y1"]) for w in words)
                continue
            if line_numbering(line):
                cols = None
                continue
            if in_totals or _TOTALS.match(line):
                in_totals = True
                numbers = [parse_number(str(w["text"]), decimal=decimal) for w in words]
                joined = parse_number(r[-1].text, decimal=decimal)
                table.totals += [n for n in (*numbers, joined) if n is not None]
                continue
            parts = _assign(words, cols)
            height = max(1.0, float(words[0]["y1"]) - float(words[0]["y0"]))
            numeric_cols = [
                n
                for n, ws in parts.items()
                if n not in _TEXT and any(re.search(r"[0-9]", str(w["text"])) for w in ws)
            ]
            if not numeric_cols:
                # a header line's second line (units) or a wrapped description
                fresh = not table.rows or table.rows[-1].page != page.number
                gap = min(float(w["y0"]) for w in words) - last_y1
                if fresh and (not table.rows or gap < height):
                    last_y1 = max(float(w["y1"]) for w in words)
                    continue
                near = min(float(w["y0"]) for w in words) - last_y1 < 1.2 * height
                if set(parts) <= {"description", "marks"} and near and table.rows:
                    prev = table.rows[-1]
                    for name, ws in parts.items():
                        extra = " ".join(str(w["text"]) for w in ws)
                        old = prev.values.get(name)
                        prev.values[name] = f"{old} {extra}" if old else extra
                    last_y1 = max(float(w["y1"]) for w in words)
                    continue
                cols = None  # the table ended on this page
                continue
            values = _typed(doc_type, parts, decimal)
            if values is None:
                cols = None
                continue
            index = " ".join(str(w["text"]) for w in parts.get("_index", [])) or None
            table.rows.append(TableRow(values, page.number, _box(words), index))
            last_y1 = max(float(w["y1"]) for w in words)
    _check(table)
    return table


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(0.011, 0.0005 * abs(b))


def _check(table: Table) -> None:
    checks, ok = table.checks, True
    if not table.rows:
        checks.append("no rows")
        table.passed = False
        return
    if any(not r.values.get("description") for r in table.rows):
        checks.append("a row without description")
        ok = False
    indexes = [r.index for r in table.rows]
    if all(i and i.isdigit() for i in indexes):
        if [int(i) for i in indexes if i] != list(range(1, len(indexes) + 1)):
            checks.append("row numbers do not run 1..n")
            ok = False
        else:
            checks.append(f"row numbers 1..{len(indexes)}")
    bad = 0
    for r in table.rows:
        q, p, a = (r.values.get(k) for k in ("quantity", "unit_price", "amount"))
        if not (isinstance(q, float) and isinstance(p, float) and isinstance(a, float)):
            continue
        if abs(q * p - a) > max(0.02, 0.005 * abs(a)):
            bad += 1
    if bad:
        checks.append(f"quantity x unit price != amount on {bad} rows")
        ok = False
    if table.totals:
        matched = []
        for name in _SUMMED:
            col = [r.values.get(name) for r in table.rows]
            nums = [v for v in col if isinstance(v, int | float)]
            if not nums or len(nums) != len(col):
                continue
            total = sum(nums)
            if any(_close(total, t) for t in table.totals):
                matched.append(name)
        if matched:
            checks.append("sums match printed totals: " + ", ".join(matched))
        else:
            checks.append("no column sum matches a printed total")
            ok = False
    elif any(not any(k not in _TEXT for k in r.values) for r in table.rows):
        checks.append("a row without a number and no totals to check")
        ok = False
    table.passed = ok
