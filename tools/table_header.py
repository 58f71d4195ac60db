"""The column labels of item tables: which printed header names which line-item field, the
header row found by them (on one line or wrapped onto two), and the labels of the totals
printed under a table (``Total packages``, ``Netto gewicht kg``, ``Zollwert``, ``Subtotal``).

Labels in English, German, Dutch and French. A header word that no label names is kept as
a column of its own (``name=""``): what stands under it is read by nobody, so it cannot
leak into the neighbouring columns unseen (tools/table_checks fails such rows).
"""

from __future__ import annotations

import re

from core.records import DocType
from tools.table_model import Column, TotalKind, Word

# Column labels per line-item field; "_index" is the row number column and "container" a
# container number column (checked, not a line-item field of the record).
_LABELS = {
    "_index": r"pos\.?|item|line|no\.?|nr\.?|n[°º]|#",
    "container": (
        r"container(?:\s*-?\s*(?:no\.?|nr\.?|number|nummer))?|containernummer|cntr\.?(?:\s+no\.?)?"
        r"|n[°º]\s+de\s+conteneur|conteneur"
    ),
    "description": (
        r"description(?:\s+of\s+goods)?|goods\s+description|omschrijving(?:\s+goederen)?"
        r"|beschreibung|warenbezeichnung|waren(?:beschreibung)?|d[ée]signation(?:\s+des"
        r"(?:\s+marchandises)?)?|description\s+des\s+marchandises|artikel|article"
    ),
    "hs_code": (
        r"hs[\s-]*code|hs\s+no\.?|tariff\s+code|commodity\s+code|zolltarif(?:nr\.?|nummer)?"
        r"|warennummer|goederencode|gn[\s-]?code|gn-|hs-|code\s+sh|code(?:\s+marchandise)?"
    ),
    "origin_country": r"origin|ursprung(?:sland)?|herkomst|oorsprong|origine",
    "quantity": r"qty|quantity|menge|anzahl|aantal|quantit[ée]|qt[ée]",
    "unit": r"unit|einheit|eenheid|unit[ée]",
    "unit_price": (
        r"unit\s+price|price(?:\s+per\s+unit)?|prijs\s+per\s+eenheid|einzelpreis|preis"
        r"|stückpreis|eenheidsprijs|prijs|prix(?:\s+unitaire)?"
    ),
    "amount": r"amount|total|betrag|gesamt|bedrag|totaal|montant",
    "package_count": (
        r"packages|pkgs|colli|packst[üu]cke|anzahl\s+packst[üu]cke|colis|no\.?\s+of\s+packages"
    ),
    "package_type": r"kind|type|art|soort|sorte|nature",
    "net_weight_kg": r"net(?:to)?\s*(?:weight|gewicht)|nettogewicht|poids\s+net",
    "gross_weight_kg": (r"gross\s+weight|brut(?:t)?o\s*gewicht|bruttogewicht|poids\s+brut"),
    "dimensions": r"dimensions|abmessungen|afmetingen|ma(?:ß|ss)e",
    "volume_m3": r"volume|volumen|vol\.?|cbm|m3|m³",
    "marks": r"marks(?:\s*(?:&|and)\s*n(?:o|umber)s\.?)?|markierungen|merken(?:\s*&\s*nummers)?"
    r"|marques(?:\s+et\s+num[ée]ros)?",
    "net_mass_kg": (r"net\s+mass|eigenmasse|nettomasse|netto\s*massa|masse\s+nette|net\s+weight"),
    "customs_value": (
        r"customs\s+value|zollwert|douanewaarde|valeur(?:\s+en)?(?:\s+douane)?"
        r"|statistical\s+value"
    ),
    "duty": r"duty|zoll|einfuhrzoll|invoerrecht(?:en)?|rechten|droits(?:\s+de\s+douane)?",
    "vat": r"(?:import\s+)?vat|eust|einfuhrumsatzsteuer|btw(?:\s+bij\s+invoer)?|tva(?:\s+import)?"
    r"|mwst",
}
# Units printed after a label, on its line or under it: "Net weight kg", "Volume m³",
# "Dimensions cm (LxWxH)".
_UNITS = (
    r"(?:\s+(?:in\s+)?(?:kgs?|m³|m3|cbm|cm|mm|eur|usd|gbp|chf|\(\w+\)|\(?\w\s*x\s*\w\s*x\s*\w\)?))*"
)

FIELDS: dict[DocType, tuple[str, ...]] = {
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
INTS = frozenset({"package_count"})
SUMMED = (
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
_SUBTOTAL = r"sub[\s-]*total|zwischensumme|subtotaal|sous[\s-]*total|net\s+total"
_TOTAL = (
    r"grand\s+total|totals?|totale?n?|totaal|summe[n]?|gesamt(?:betrag|summe)?|totaux"
    r"|montant\s+total|total\s+g[ée]n[ée]ral|insgesamt"
)
# Charges an invoice adds to its amounts under the table (freight, insurance, tax).
_CHARGES = (
    r"freight|fracht|vracht|fret|insurance|versicherung|verzekering|assurance|packing"
    r"|verpackung|discount|rabatt|korting|remise|tax|vat|mwst\.?|ust\.?|btw|tva"
)
_CHARGES_RE = re.compile(rf"^(?:{_CHARGES})(?:\s+[\d.,]+\s*%)?$", re.IGNORECASE)
_SUBTOTAL_RE = re.compile(rf"^(?:{_SUBTOTAL})(?:{_UNITS})$", re.IGNORECASE)
_TOTAL_RE = re.compile(rf"^(?:{_TOTAL})(?:{_UNITS})$", re.IGNORECASE)
_TOTAL_WORDS = re.compile(rf"^(?:{_TOTAL})\s+|\s+(?:{_TOTAL})$", re.IGNORECASE)


def _compile(name: str) -> re.Pattern[str]:
    return re.compile(rf"^(?:{_LABELS[name]}){_UNITS}:?$", re.IGNORECASE)


def _names(doc_type: DocType) -> tuple[str, ...]:
    return ("_index", "container", *FIELDS[doc_type])


def _text(word: Word) -> str:
    return str(word["text"]).strip()


def _stack(line: list[Word], below: list[Word]) -> dict[int, list[Word]]:
    """The words of a header's second line under the first line's word they overlap most."""
    stacked: dict[int, list[Word]] = {}
    for w in below:
        overlaps = [
            min(float(w["x1"]), float(u["x1"])) - max(float(w["x0"]), float(u["x0"])) for u in line
        ]
        best = max(range(len(line)), key=lambda i: overlaps[i])
        if overlaps[best] > 0:
            stacked.setdefault(best, []).append(w)
    return stacked


def find_header(line: list[Word], below: list[Word], doc_type: DocType) -> list[Column]:
    """The columns a header row names, left to right, longest label first (``Unit price``
    before ``Unit``); ``below`` is the line under it, which may carry the rest of its labels
    (``Gross`` / ``weight kg``, ``HS`` / ``code``). Words no label takes are columns named
    ""."""
    patterns = [(n, _compile(n)) for n in _names(doc_type)]
    stacked = _stack(line, below)
    texts = [_text(w).rstrip(":") for w in line]
    cols: list[Column] = []
    i = 0
    while i < len(line):
        hit: tuple[str, int, list[Word], str] | None = None
        for n in (5, 4, 3, 2, 1):
            if i + n > len(line):
                continue
            under = sorted(
                (w for k in range(i, i + n) for w in stacked.get(k, [])),
                key=lambda w: float(w["x0"]),
            )
            own = " ".join(texts[i : i + n])
            tries = [(f"{own} {' '.join(_text(w) for w in under)}", under)] if under else []
            for phrase, extra in [*tries, (own, [])]:
                name = next(
                    (m for m, p in patterns if p.match(phrase) and all(c.name != m for c in cols)),
                    None,
                )
                if name:
                    hit = (name, n, line[i : i + n] + extra, phrase)
                    break
            if hit:
                break
        if hit is None:
            w = line[i]
            cols.append(Column("", float(w["x0"]), float(w["x1"]), texts[i]))
            i += 1
            continue
        name, n, span, phrase = hit
        x0 = min(float(w["x0"]) for w in span)
        x1 = max(float(w["x1"]) for w in span)
        cols.append(Column(name, x0, x1, phrase))
        i += n
    return sorted(cols, key=lambda c: c.x0)


def is_header(cols: list[Column]) -> bool:
    names = {c.name for c in cols} - {"", "_index", "container"}
    return "description" in names and len(names) >= 3


# --- totals ---------------------------------------------------------------------------------


def total_label(label: str, doc_type: DocType) -> tuple[TotalKind, str | None] | None:
    """What a totals line's label names: a column's total (``Total packages``, ``Netto
    gewicht kg``, ``Zollwert``), the subtotal of the amounts, a bare total, a charge added
    to an invoice's amounts (``Freight``, ``MwSt. 19 %``), or None when the label is none of
    these."""
    text = " ".join(label.replace(":", " ").split())
    if not text:
        return None
    if _SUBTOTAL_RE.match(text):
        return "subtotal", "amount" if "amount" in FIELDS[doc_type] else None
    if _TOTAL_RE.match(text):
        return "total", None
    if "amount" in FIELDS[doc_type] and _CHARGES_RE.match(text):
        return "other", None
    bare = _TOTAL_WORDS.sub("", text)
    for name in FIELDS[doc_type]:
        if name in SUMMED and name != "amount" and _compile(name).match(bare):
            return "column", name
    return None
