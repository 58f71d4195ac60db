"""Query understanding for tariff lookups: keep the goods, drop the invoice around them.

Invoice and packing-list lines carry line numbers, article and part numbers, quantities
with units, prices, currencies, order and batch references, dangerous-goods numbers and
Incoterms. None of it says what the goods are, and all of it pulls the embedding towards
whatever tariff title happens to share a number or an abbreviation. ``clean`` removes
those parts by pattern (EN/DE/NL/FR spellings) and keeps everything else, including
technical sizes and materials; when nothing would remain the original text is kept.

``debrand`` replaces brands and product lines by the goods they stand for
(``kb/brands.py``) and ``items`` splits a line that names several goods;
``kb/vocabulary.py`` glosses German, Dutch and French goods words in English.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kb import brands, sparse

_NUM = r"\d[\d.,' ]*\d|\d"
_UNITS = (
    r"pcs?|pces?|pieces?|prs?|pairs?|paar|ctns?|cartons?|kartons?|boxes|bx"
    r"|dozen|doos|dozijn|sets?|units?|unit[ée]s?|stk\.?|st\.|stuks?|stück"
    r"|pallets?|paletten?|palettes?|plts?|bags?|sacs?|sacks?|s[äa]cke|zakken|bales?|rolls?"
    r"|rollen|drums?|fässer|ibcs?|cans|blikjes|btls?|bottles?|flaschen|fl\.|bouteilles"
    r"|kgs?|kilos?|mts?|tons?|tonnes?|t|lbs?|packs?|pk|pkgs?|packages?|colis|lots?"
)
_PATTERNS = [
    # line and article labels: "Item 00012", "Pos. 2 –", "Line 3:", "Art.-Nr. 4711", "SKU 77-104"
    r"\b(?:item|line|pos(?:ition)?|ligne|regel|zeile|lot|art(?:ikel|icle)?(?:\.?-?nr)?|réf|ref"
    r"|sku|p/n|part\s*no|pn|model|style|no)\b\.?\s*[:#]?\s*(?=[\w/-]{3,}|\d+\s*[:–-])[\w-]*\d[\w/-]*"
    r"\s*[:–-]?",
    # quantities: "1,200 PCS", "96 CTNS", "2.400 Stk.", "x 6 btl", "600 cases x 6"
    rf"(?:\bx\s*)?\b(?:{_NUM})\s*(?:x\s*)?(?:{_UNITS})(?!\w)\.?(?:\s*/\s*(?:{_UNITS})(?!\w)\.?)?",
    rf"\b(?:qty|quantity|menge|aantal|quantité)\b\.?\s*:?\s*(?:{_NUM})",
    # prices: "USD 2.35/pc", "@ EUR 4.10", "EUR 2,10/Stk.", "x EUR 310.00", "$12"
    r"@?\s*\b(?:usd|eur|gbp|cny|rmb|jpy|chf)\b\s*(?:\d[\d.,]*)(?:\s*/\s*\w+\.?)?",
    r"[$€£]\s*\d[\d.,]*",
    r"\b\d[\d.,]*\s*(?:usd|eur|gbp)\b",
    # references: "PO 45001234", "batch 23A", "DOT 2426", "S/N list attached", "HS code TBD"
    r"\b(?:po|p\.o\.|order|bestellung|commande|batch|charge|lot|dot|invoice|inv)\b\.?\s*"
    r"(?:no\.?|nr\.?|#)?\s*:?\s*[\w-]*\d[\w-]*",
    r"\bs/n\b[^,;|]*",
    r"\bhs\s*code\b[^,;|]*",
    r"\b(?:imei)[\w-]*[^,;|]*",
    # dangerous goods and shipping: "UN3481", "PI967", "FOB Ningbo", "origin TH", "1 x 40'RF"
    r"\b(?:un|pi)\s?\d{3,4}\b",
    r"\b(?:fob|cif|cfr|exw|dap|ddp|fca|cpt|cip)\b(?:\s+[A-Z][a-z]+)?",
    r"\b(?:origin|herkunft|oorsprong|origine)\b\s*:?\s*[A-Z]{2}\b",
    r"\b\d\s*x\s*(?:20|40|45)\s*'?\s*(?:ft|hc|rf|gp|dv)?\b",
    r"\btemp\.?\s*-?\d[\d.,]*\s*°?\s*c\b",
]
_NOISE = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
_SEPARATORS = re.compile(r"\s*[|;]\s*|\s+[/–=]\s+")
_SPACES = re.compile(r"\s+")
_DANGLING = re.compile(r"^(?:[\s,.:;=@-]|\bx\b)+|(?:[\s,.:;=@(-]|\bx\b)+$", re.IGNORECASE)
_EMPTY_PARENS = re.compile(r"\(\s*[,;]?\s*\)")


def clean(text: str) -> str:
    """The goods description without line labels, quantities, prices and references."""
    stripped = _NOISE.sub(" ", text)
    stripped = _SEPARATORS.sub(", ", stripped)
    stripped = _EMPTY_PARENS.sub(" ", stripped)
    stripped = re.sub(r"(?:,\s*){2,}", ", ", stripped)
    stripped = _DANGLING.sub("", _SPACES.sub(" ", stripped)).strip()
    words = re.findall(r"[^\W\d_]{3,}", stripped)
    return stripped if words else text.strip()


# --- brands, materials and multi-item lines -----------------------------------------------

_BRAND_SPLIT = re.compile(r"[\s,;:/()]+")
_CONTENT_WORD = re.compile(r"[^\W\d_]{3,}")


@lru_cache(maxsize=1)
def _brand_pattern() -> re.Pattern[str]:
    names = sorted({*brands.PRODUCTS, *brands.MAKERS}, key=len, reverse=True)
    model = r"(?:\s+(?:[a-z]*\d[\w-]*|" + "|".join(sorted(brands.MODEL_WORDS)) + r"))*"
    return re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(n) for n in names) + r")(?![\w-])" + model
    )


def debrand(text: str) -> str:
    """Brands replaced by the goods they stand for (``kb/brands.py``).

    A product line becomes its goods ("iPhone 15 cases" -> "smartphone cases"); a maker's
    name is dropped when the goods are named too ("Makita cordless drill" -> "cordless
    drill") and replaced by its usual goods otherwise. Model numbers after a brand go with
    it. Text without a known brand comes back unchanged."""
    folded = sparse.normalise(text)
    found = list(_brand_pattern().finditer(folded))
    if not found:
        return text
    if len(folded) != len(text):  # "ß" -> "ss": positions are the folded text's
        text = folded
    pieces: list[str] = []
    makers: list[str] = []
    last = 0
    for match in found:
        name = match.group(1)
        pieces.append(text[last : match.start()])
        if name in brands.PRODUCTS:
            pieces.append(f" {brands.PRODUCTS[name]} ")
        else:
            makers.append(brands.MAKERS[name])
            pieces.append(" ")
        last = match.end()
    pieces.append(text[last:])
    out = _SPACES.sub(" ", "".join(pieces)).strip(" ,;:-")
    out = re.sub(r"^[\s'’]*s\b\s*", "", out)  # "Levi's" -> "levi" + "'s"
    if not _CONTENT_WORD.search(out):
        out = ", ".join(filter(None, [out, *makers]))
    return out or text


# "cotton t-shirts and denim jeans": split where two goods are joined, each of at least two
# words, so "nuts and bolts", "men's and boys' shirts" or "parts and accessories" stay whole.
_JOINERS = re.compile(r"\s*;\s*|\s+(?:and|&|\+|und|en|et|y)\s+", re.IGNORECASE)
_NOT_AN_ITEM = re.compile(r"^(?:parts?|accessories|spare parts|teile|onderdelen|pieces)\b", re.I)


def items(text: str) -> list[str]:
    """The goods of a multi-item line, each on its own; one item: ``[text]``."""
    depth, parts, start = 0, [], 0
    for match in _JOINERS.finditer(text):
        depth = text.count("(", 0, match.start()) - text.count(")", 0, match.start())
        if depth:
            continue
        parts.append(text[start : match.start()])
        start = match.end()
    parts.append(text[start:])
    parts = [p.strip(" ,.") for p in parts]
    if len(parts) < 2 or any(
        len(_CONTENT_WORD.findall(p)) < 2 or _NOT_AN_ITEM.match(p) for p in parts
    ):
        return [text]
    return parts
