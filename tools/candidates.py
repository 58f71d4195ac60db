"""Deterministic field candidates, read from the page text before the model is asked.

Each candidate is a value the text prints next to a label that names it (``Invoice No.``,
``Rechnungsnummer``, ``Factuurnummer``, ``N° de facture``), or a value whose form alone
says what it is (an ISO 6346 container number with its check digit, an MRN, an Incoterm,
a currency code). Labels that name a look-alike (order, customer, delivery numbers; order,
due and delivery dates; subtotals) give *traps*: values that must not be taken for the
field. Candidates go to the model as hints and come back as cross-checks
(``agent/crosscheck``); nothing here decides a field on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.values import (
    CURRENCY_SYMBOLS,
    containers_in_text,
    day_first_of,
    decimal_of,
    parse_date,
    parse_number,
)
from tools.layout import Cell, below, rows
from tools.provenance import PageText

# Label patterns (case-insensitive) per field, EN / DE / NL / FR. A trailing "no", "nr",
# "n°", "number" or "#" and a colon are allowed after each.
_NUMBER_SUFFIX = r"(?:\s*(?:no\.?|nr\.?|n[°ºo]\.?|num(?:ber|[eé]ro)|#))?\s*[:#.]?\s*"
_LABELS: dict[str, tuple[str, ...]] = {
    "invoice_number": (
        r"invoice\s*(?:number|no\.?|nr\.?|#|n[°º])",
        r"inv\.?\s*(?:no\.?|#)",
        r"rechnungs?\s*-?\s*(?:nummer|nr\.?)",
        r"factuur\s*-?\s*(?:nummer|nr\.?)",
        r"(?:num[eé]ro|n[°º]|no\.?)\s*(?:de\s+(?:la\s+)?)?facture",
        r"facture\s*(?:n[°º]|no\.?|num[eé]ro)",
    ),
    "bl_number": (
        r"b\s*/\s*l\s*-?\s*(?:number|nummer|no\.?|nr\.?|n[°º])",
        r"(?:n[°º]|num[eé]ro)\s*(?:de\s+|du\s+)?b\s*/\s*l",
        r"bill\s+of\s+lading\s*(?:number|no\.?)",
        r"konnossement\s*-?\s*(?:nummer|nr\.?)",
        r"c[oa]n?gn?ossement\s*-?\s*(?:nummer|nr\.?)",
        r"(?:num[eé]ro|n[°º])\s*(?:du\s+)?connaissement",
        r"connaissement\s*(?:n[°º]|no\.?)",
    ),
    "packing_list_number": (
        r"packing\s+list\s*(?:number|no\.?|nr\.?)",
        r"packlisten?\s*-?\s*(?:nummer|nr\.?)",
        r"paklijst\s*-?\s*(?:nummer|nr\.?)",
        r"(?:num[eé]ro|n[°º])\s*(?:de\s+(?:la\s+)?)?liste\s+de\s+colisage",
        r"liste\s+de\s+colisage\s*(?:n[°º]|no\.?)",
    ),
    "invoice_date": (
        r"invoice\s+date",
        r"date\s+of\s+invoice",
        r"rechnungsdatum",
        r"factuurdatum",
        r"date\s+(?:de\s+(?:la\s+)?)?facture",
    ),
    "total": (
        r"grand\s+total",
        r"total\s+amount(?:\s+due)?",
        r"(?:total|amount)\s+(?:due|payable)",
        r"invoice\s+total",
        r"gesamtbetrag",
        r"rechnungsbetrag",
        r"endbetrag",
        r"totaalbedrag",
        r"te\s+betalen",
        r"montant\s+total",
        r"total\s+ttc",
        r"net\s+[àa]\s+payer",
        r"(?<![\w-])(?:total|totaal|summe|gesamt|montant)(?!\s*(?:ht|net|hors|excl|weight|"
        r"gewicht|poids|packages|pkgs|colli|qty|quantity|menge|aantal|quantit|volume|kg|m3|"
        r"m³|cartons)\b)",
    ),
    "currency": (r"currency", r"w[äa]hrung", r"valuta", r"devise", r"monnaie"),
    # A document's own number under a generic label (page splitting compares it).
    "document_number": (
        r"doc(?:ument|\.)?\s*(?:number|no\.?|nr\.?|#)",
        r"(?:beleg|dokument|document)\s*-?\s*(?:nummer|nr\.?)",
        r"(?:num[eé]ro|n[°º])\s*(?:de\s+|du\s+)?document",
    ),
}
# Labels that often but not always name the field: used when no strong label did.
_WEAK_LABELS: dict[str, tuple[str, ...]] = {
    "invoice_date": (r"(?<![\w-])(?:date|datum)(?![\w-])",),
}
# Look-alikes: values printed next to these are not the field's value.
_TRAPS: dict[str, tuple[str, ...]] = {
    "invoice_number": (
        r"(?:purchase\s+)?order\s*(?:number|no\.?|nr\.?|#|ref)",
        r"p\.?o\.?\s*(?:number|no\.?|#)",
        r"customer\s*(?:number|no\.?|id|#)",
        r"account\s*(?:number|no\.?)",
        r"delivery\s*(?:note\s*)?(?:number|no\.?)",
        r"(?:bestell|auftrags|kunden|liefer(?:schein)?)\s*-?\s*(?:nummer|nr\.?)",
        r"(?:bestel|order|klant|lever(?:bon)?)\s*-?\s*(?:nummer|nr\.?)",
        r"(?:num[eé]ro|n[°º])\s*(?:de\s+)?(?:commande|client|bon\s+de\s+livraison)",
        r"(?:commande|client)\s*(?:n[°º]|no\.?)",
    ),
    "invoice_date": (
        r"order\s+date",
        r"due\s+date",
        r"delivery\s+date",
        r"date\s+of\s+(?:order|delivery|supply)",
        r"(?:bestell|auftrags|liefer|f[äa]lligkeits)\s*datum",
        r"(?:bestel|order|lever|verval)\s*datum",
        r"date\s+(?:de\s+)?(?:commande|livraison|d['’][ée]ch[ée]ance)",
    ),
    "total": (
        r"sub\s*-?\s*total",
        r"zwischensumme",
        r"subtotaal",
        r"sous\s*-?\s*total",
        r"total\s+ht",
        r"net\s+total",
        r"nettobetrag",
    ),
}

_REF_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/._]*")
_CURRENCIES = frozenset(
    [
        "EUR",
        "USD",
        "GBP",
        "CHF",
        "CNY",
        "JPY",
        "KRW",
        "INR",
        "AUD",
        "CAD",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "HUF",
        "TRY",
        "BRL",
        "MXN",
        "ZAR",
        "SGD",
        "HKD",
        "AED",
        "SAR",
        "VND",
        "THB",
        "MYR",
        "IDR",
        "NZD",
        "RON",
        "BGN",
        "ILS",
    ]
)
_CURRENCY_CODE = re.compile(r"(?<![A-Za-z])(" + "|".join(sorted(_CURRENCIES)) + r")(?![A-Za-z])")
_INCOTERMS = {
    "EXW": "ex works",
    "FCA": "free carrier",
    "CPT": "carriage paid to",
    "CIP": "carriage and insurance paid(?: to)?",
    "DAP": "delivered at place(?! unloaded)",
    "DPU": "delivered at place unloaded",
    "DDP": "delivered duty paid",
    "FAS": "free alongside ship",
    "FOB": "free on board",
    "CFR": "cost and freight",
    "CIF": "cost,? insurance and freight",
}
_INCOTERM_CODE = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(_INCOTERMS) + r")(?![A-Za-z0-9])")
_INCOTERM_NAME = re.compile(
    "|".join(f"(?P<{code}>{name})" for code, name in _INCOTERMS.items()), re.IGNORECASE
)
_MRN = re.compile(r"(?<![A-Z0-9])(\d{2}[A-Z]{2}[A-Z0-9]{13}[A-Z0-9])(?![A-Z0-9])")


@dataclass(frozen=True)
class Candidate:
    field: str
    value: str | float
    printed: str  # the text the value was read from
    label: str = ""  # the label that named it, "" when the form alone says what it is
    page: int = 1
    trap: bool = False  # a look-alike: printed next to a label of another thing
    weak: bool = False  # named by a label that often, not always, means the field


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?:" + "|".join(patterns) + r")" + _NUMBER_SUFFIX, re.IGNORECASE)


_LABEL_RES = {f: _compile(p) for f, p in _LABELS.items()}
_WEAK_RES = {f: _compile(p) for f, p in _WEAK_LABELS.items()}
_TRAP_RES = {f: _compile(p) for f, p in _TRAPS.items()}


def _after(lines: list[str], i: int, end: int) -> list[str]:
    """The rest of line ``i`` after the label, else the next non-empty line (label above)."""
    rest = lines[i][end:].strip(" :#.\t|")
    if rest:
        return [rest]
    for nxt in lines[i + 1 : i + 3]:
        if nxt.strip():
            return [nxt.strip()]
    return []


def _reference(text: str) -> str | None:
    for found in _REF_TOKEN.findall(text)[:2]:
        token = str(found).rstrip("./-_")
        if len(token) >= 3 and any(c.isdigit() for c in token):
            return token
    return None


@dataclass(frozen=True)
class _Context:
    day_first: bool | None
    decimal: str | None


def _value(field: str, text: str, ctx: _Context) -> tuple[str | float, str] | None:
    if field.endswith("_date"):
        found = parse_date(text[:40], day_first=ctx.day_first)
        return (found.isoformat(), text[:40]) if found else None
    if field == "total":
        number = parse_number(text[:40], decimal=ctx.decimal, strict=False)
        return (number, text[:40]) if number is not None else None
    if field == "currency":
        match = _CURRENCY_CODE.search(text[:20])
        return (match.group(1), match.group(1)) if match else None
    ref = _reference(text)
    return (ref, ref) if ref else None


def _labelled(
    lines: list[str],
    page: int,
    ctx: _Context,
    patterns: dict[str, re.Pattern[str]],
    trap: bool = False,
    weak: bool = False,
) -> list[Candidate]:
    out = []
    for i, line in enumerate(lines):
        for field, pattern in patterns.items():
            for match in pattern.finditer(line):
                # A trap label inside a field label ("Invoice No" holds no "order no") is fine;
                # a field label that a trap label covers ("Sub-Total") is the trap's.
                if not trap and field in _TRAP_RES and _covered(line, match, _TRAP_RES[field]):
                    continue
                for rest in _after(lines, i, match.end()):
                    read = _value(field, rest, ctx)
                    if read is not None:
                        value, printed = read
                        label = match.group(0).strip()
                        out.append(Candidate(field, value, printed, label, page, trap, weak))
    return out


def _covered(line: str, match: re.Match[str], trap: re.Pattern[str]) -> bool:
    return any(t.start() <= match.start() < t.end() for t in trap.finditer(line))


def _incoterm(text: str, page: int) -> list[Candidate]:
    out = []
    for match in _INCOTERM_NAME.finditer(text):
        code = match.lastgroup or ""
        out.append(Candidate("incoterm", code, match.group(0), "", page))
    for match in _INCOTERM_CODE.finditer(text):
        out.append(Candidate("incoterm", match.group(1), match.group(1), "", page))
    return out


def _currency(text: str, page: int) -> list[Candidate]:
    codes = _CURRENCY_CODE.finditer(text)
    out = [Candidate("currency", m.group(1), m.group(1), "", page) for m in codes]
    for symbol, code in CURRENCY_SYMBOLS.items():
        if symbol in text and not (symbol == "$" and "US$" in text):
            out.append(Candidate("currency", code, symbol, "", page))
    return out


def _in_grid(
    grid: list[list[Cell]],
    page: int,
    ctx: _Context,
    kinds: list[tuple[dict[str, re.Pattern[str]], bool, bool]],
) -> list[Candidate]:
    """Labels alone in their cell, with their value in the cell below (forms, boxed layouts)."""
    out = []
    for r, row in enumerate(grid):
        for cell in row:
            for patterns, trap, weak in kinds:
                for field, pattern in patterns.items():
                    match = pattern.search(cell.text)
                    if match is None or cell.text[match.end() :].strip(" :#.|"):
                        continue
                    if (
                        not trap
                        and field in _TRAP_RES
                        and _covered(cell.text, match, _TRAP_RES[field])
                    ):
                        continue
                    read = None
                    for text in (_right_of(row, cell), below(grid, r, cell)):
                        read = _value(field, text, ctx) if text else None
                        if read is not None:
                            break
                    if read is not None:
                        label = match.group(0).strip()
                        out.append(Candidate(field, read[0], read[1], label, page, trap, weak))
    return out


def _right_of(row: list[Cell], cell: Cell) -> str | None:
    after = [c.text for c in row if c.x0 >= cell.x1]
    return after[0] if after else None


def find_candidates(pages: list[PageText], lang: str | None = None) -> list[Candidate]:
    """Every candidate in the pages, traps included, in reading order."""
    full = "\n".join(p.text for p in pages)
    ctx = _Context(day_first_of(full, lang), decimal_of(full))
    kinds = [(_LABEL_RES, False, False), (_WEAK_RES, False, True), (_TRAP_RES, True, False)]
    out: list[Candidate] = []
    for p in pages:
        page, text = p.number, p.text
        lines = text.splitlines()
        out += _labelled(lines, page, ctx, _LABEL_RES)
        out += _labelled(lines, page, ctx, _WEAK_RES, weak=True)
        out += _labelled(lines, page, ctx, _TRAP_RES, trap=True)
        if p.words:
            out += _in_grid(rows(p.words), page, ctx, kinds)
        out += _incoterm(text, page)
        out += _currency(text, page)
        out += [Candidate("containers", n, n, "", page) for n in containers_in_text(text)]
        out += [Candidate("mrn", m.group(1), m.group(1), "", page) for m in _MRN.finditer(text)]
    return out


def best(candidates: list[Candidate], field: str) -> Candidate | None:
    """The field's most telling candidate: a labelled one before a bare form; for totals
    the largest labelled amount (the grand total is not smaller than what it sums)."""
    own = [c for c in candidates if c.field == field and not c.trap]
    if not own:
        return None
    labelled = [c for c in own if c.label and not c.weak] or [c for c in own if c.label]
    if field == "total" and labelled:
        return max(labelled, key=lambda c: float(c.value))
    if labelled:
        return labelled[0]
    if field == "currency":
        counts: dict[str, int] = {}
        for c in own:
            counts[str(c.value)] = counts.get(str(c.value), 0) + 1
        top = max(counts.values())
        winners = [c for c in own if counts[str(c.value)] == top]
        return winners[0]
    return own[0]


def traps(candidates: list[Candidate], field: str) -> list[Candidate]:
    return [c for c in candidates if c.field == field and c.trap]


def normalize_incoterm(value: str) -> str:
    """``DPU - DELIVERED AT PLACE UNLOADED`` / ``free on board`` / ``fob`` -> the code."""
    text = value.strip()
    if match := _INCOTERM_CODE.search(text.upper()):
        return match.group(1)
    if match := _INCOTERM_NAME.search(text):
        return match.lastgroup or text
    return text.upper()
