"""Reading printed values: numbers, dates, currencies, package kinds and ISO 6346 container
numbers.

One reader for each, used by the product (normalization, validation, candidates,
provenance) and by the scorer alike, so that the two never disagree on what
``"1,250,000"`` or ``"09/08/2022"`` means.

Numbers: the last of ``.`` and ``,`` is the decimal separator when both occur
(``24.816,00``, ``1,250.50``); a separator that repeats groups thousands
(``1,250,000``, ``1.250.000``); spaces, NBSP and apostrophes group thousands; a lone
separator followed by exactly three digits (``1,250`` / ``1.250``) is ambiguous and the
document's decimal separator decides (``decimal=","`` for German, Dutch, French; default:
``,`` groups thousands and ``.`` is a decimal point). The document's separator comes from
its unambiguous amounts (``decimal_of``) or, for a table, from the numbers of its cells
(``decimal_of_numbers``): decided once for all numbers, never number by number.

Dates: ISO and compact forms, numeric day-month-year in every common order, month names in
English, German, Dutch and French. A numeric date whose day and month could swap
(``09/08/2022``) is read day-first unless ``day_first=False`` (the document's locale, e.g.
a US document, or an unambiguous date elsewhere in it: see ``day_first_of``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from datetime import date

# --- numbers --------------------------------------------------------------------------------

_NUMBER_TOKEN = re.compile(r"[-+]?(?:\d[\d.,']*\d|\d)")
_SPACE_GROUP = re.compile(r"(?<=\d)[ \u00a0\u202f](?=\d{3}(?!\d))")


def parse_number(
    value: str | int | float | None, *, decimal: str | None = None, strict: bool = True
) -> float | None:
    """A printed number as a float; None when there is none or (``strict``) several.

    ``decimal`` is the document's decimal separator when known (``","`` or ``"."``).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    tokens = _NUMBER_TOKEN.findall(_SPACE_GROUP.sub("", value))
    if not tokens or (strict and len(tokens) != 1):
        return None
    token = tokens[0].replace("'", "")
    sign = -1.0 if token.startswith("-") else 1.0
    token = token.lstrip("+-")
    if "." in token and "," in token:
        dec = "." if token.rfind(".") > token.rfind(",") else ","
        token = token.replace("," if dec == "." else ".", "").replace(dec, ".")
    elif "," in token or "." in token:
        sep = "," if "," in token else "."
        head, _, tail = token.rpartition(sep)
        if token.count(sep) > 1:
            token = token.replace(sep, "")
        elif len(tail) == 3 and head.isdigit() and len(head) <= 3 and head != "0":
            grouping = sep != decimal if decimal else sep == ","
            token = token.replace(sep, "") if grouping else token.replace(sep, ".")
        else:
            token = token.replace(sep, ".")
    try:
        return sign * float(token)
    except ValueError:
        return None


# --- dates ----------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "jan january januar januari janvier janv",
        "feb february februar februari fevrier fevr fev",
        "mar march marz maart mars mrt",
        "apr april avril avr",
        "may mai mei",
        "jun june juni juin",
        "jul july juli juillet juil",
        "aug august augustus aout",
        "sep sept september septembre",
        "oct october oktober octobre okt",
        "nov november novembre",
        "dec december dezember decembre dez",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

_ISO = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMERIC = re.compile(r"\b(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})\b")
_DAY_MONTH_NAME = re.compile(r"\b(\d{1,2})\.?\s*(?:de\s+)?([^\W\d_]{3,10})\.?,?\s*(\d{4})\b")
_MONTH_NAME_DAY = re.compile(r"\b([^\W\d_]{3,10})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def _make(year: int, month: int, day: int) -> date | None:
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(value: str | None, *, day_first: bool | None = None) -> date | None:
    """The date a text prints, or None. ``day_first`` decides ``09/08/2022`` (default: yes)."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.strip().split())
    if m := _COMPACT.match(text):
        return _make(int(m[1]), int(m[2]), int(m[3]))
    if m := _ISO.search(text):
        return _make(int(m[1]), int(m[2]), int(m[3]))
    if m := _NUMERIC.search(text):
        return _numeric(int(m[1]), m[2], int(m[3]), int(m[4]), day_first)
    folded = _ascii(text)
    if m := _DAY_MONTH_NAME.search(folded):
        month = _MONTHS.get(m[2])
        if month:
            return _make(int(m[3]), month, int(m[1]))
    if m := _MONTH_NAME_DAY.search(folded):
        month = _MONTHS.get(m[1])
        if month:
            return _make(int(m[3]), month, int(m[2]))
    return None


def _numeric(a: int, sep: str, b: int, year: int, day_first: bool | None) -> date | None:
    if a > 12 or sep == ".":  # 31/01/2026; dots are day-first everywhere they are used
        return _make(year, b, a)
    if b > 12:  # 01/31/2026
        return _make(year, a, b)
    return _make(year, b, a) if day_first is not False else _make(year, a, b)


def day_first_of(text: str, lang: str | None = None) -> bool | None:
    """Whether the numeric dates of a document are day-first, from its unambiguous dates
    (``31/01/2026`` yes, ``01/31/2026`` no), else from its language (every language but
    US English writes day-first; None when nothing tells)."""
    votes = 0
    for m in _NUMERIC.finditer(text):
        a, b = int(m[1]), int(m[3])
        if m[2] == ".":
            continue
        votes += (a > 12 and b <= 12) - (b > 12 and a <= 12)
    if votes:
        return votes > 0
    if lang in ("de", "nl", "fr", "es", "it"):
        return True
    return None


def decimal_of(text: str) -> str | None:
    """The decimal separator a document uses, from its unambiguous amounts
    (``1.234,56`` / ``12,50`` -> ``,``; ``1,234.56`` / ``12.50`` -> ``.``)."""
    comma = len(re.findall(r"\d[.\s]\d{3},\d{2}(?!\d)|(?<![\d.,])\d{1,3},\d{2}(?![\d.,])", text))
    point = len(re.findall(r"\d,\d{3}\.\d{2}(?!\d)|(?<![\d.,])\d{1,3}\.\d{2}(?![\d.,])", text))
    if comma == point:
        return None
    return "," if comma > point else "."


def decimal_shown(number: str) -> str | None:
    """The decimal separator one printed number shows, when it shows one unambiguously:
    ``1.234,5`` / ``2,50`` / ``0,125`` / ``1.234.567`` -> ``,``; ``1,234.5`` / ``0.154`` ->
    ``.``; ``1.960`` / ``1,960`` / ``328`` -> None (a lone separator before three digits may
    group thousands or mark decimals)."""
    tokens = _NUMBER_TOKEN.findall(_SPACE_GROUP.sub("", number))
    if len(tokens) != 1:
        return None
    token = tokens[0].replace("'", "").lstrip("+-")
    if "." in token and "," in token:
        last = "." if token.rfind(".") > token.rfind(",") else ","
        return last if token.count(last) == 1 else None
    for sep, other in ((".", ","), (",", ".")):
        if sep not in token:
            continue
        if token.count(sep) > 1:
            return other  # a repeated separator groups thousands
        head, _, tail = token.partition(sep)
        if len(tail) != 3 or head in ("", "0") or len(head) > 3:
            return sep
    return None


def decimal_of_numbers(numbers: Iterable[str]) -> str | None:
    """The decimal separator of printed numbers known to be numbers (a table's numeric
    cells and totals), by the majority of those that show one (``decimal_shown``); None
    when none shows one or the two tie. Decided once for all of them, never per cell."""
    votes = Counter(sep for n in numbers if (sep := decimal_shown(n)))
    if votes[","] == votes["."]:
        return None
    return "," if votes[","] > votes["."] else "."


# --- currencies -----------------------------------------------------------------------------

# Printed symbols, longest first ("US$" before "$"); "¥" is read as the yen, as printed
# on Japanese documents (Chinese ones print "RMB" / "CNY" beside it, which wins as a label).
CURRENCY_SYMBOLS: dict[str, str] = {"€": "EUR", "US$": "USD", "$": "USD", "£": "GBP", "¥": "JPY"}
_CURRENCY_NAMES = {
    "euro": "EUR",
    "euros": "EUR",
    "us dollar": "USD",
    "us dollars": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "pound sterling": "GBP",
    "pounds sterling": "GBP",
    "swiss franc": "CHF",
    "swiss francs": "CHF",
    "yuan": "CNY",
    "renminbi": "CNY",
    "rmb": "CNY",
    "yen": "JPY",
}


def normalize_currency(value: str) -> str:
    """``€`` / ``US$`` / ``¥`` / ``Euro`` / ``eur`` -> the ISO 4217 code (else the text, upper
    case)."""
    text = value.strip()
    if text in CURRENCY_SYMBOLS:
        return CURRENCY_SYMBOLS[text]
    return _CURRENCY_NAMES.get(text.casefold(), text.upper())


# --- package types --------------------------------------------------------------------------

# Printed package kinds (English, German, Dutch, French; singular and plural; common
# abbreviations and UN/ECE Recommendation 21 codes) -> the English plural a record holds.
# fmt: off
_PACKAGE_WORDS: dict[str, str] = {
    "PALLETS": "pallet pallets plt plts px palette paletten paletts palettes pal",
    "CARTONS": "carton cartons ctn ctns ct karton kartons doos dozen",
    "CRATES": "crate crates cr kiste kisten krat kratten caisse caisses",
    "BAGS": "bag bags bg sack sacks sa sacke sacken zak zakken sac sacs",
    "DRUMS": "drum drums dr fass fasser vat vaten fut futs",
    "CASES": "case cases cs",
    "BOXES": "box boxes bx schachtel schachteln boite boites",
    "PACKAGES": "package packages pk pkg pkgs packstuck packstucke pakket pakketten colis",
    "PIECES": "piece pieces pc pcs stuck stk stuks",
    "BALES": "bale bales ballen baal balen balle balles",
    "ROLLS": "roll rolls ro rolle rollen rol rouleau rouleaux",
    "BUNDLES": "bundle bundles bdl bdls bundel bundels bund bunde botte bottes",
    "COILS": "coil coils cl spule spulen bobine bobines",
    "BARRELS": "barrel barrels ba tonne tonnen ton tonneau tonneaux",
    "CANS": "can cans ca dose dosen blik blikken bidon bidons",
    "SETS": "set sets",
    "UNITS": "unit units",
    "IBCS": "ibc ibcs",
}
# fmt: on
_PACKAGE_CODES = {
    word: code for code, words in _PACKAGE_WORDS.items() for word in words.casefold().split()
}


def package_type_code(value: str) -> str | None:
    """A printed package kind as the record writes it (``KARTONS`` / ``dozen`` / ``CTNS`` /
    ``Säcke`` -> ``CARTONS`` / ``BAGS``), or None when the text is not a package kind."""
    key = re.sub(r"[\s.\-/]", "", _ascii(value))
    return _PACKAGE_CODES.get(key)


# --- ISO 6346 container numbers -------------------------------------------------------------

_CONTAINER_RE = re.compile(r"^([A-Z]{3})([UJZ])(\d{6})(\d)$")
_CONTAINER_IN_TEXT = re.compile(r"\b([A-Z]{3}[UJZ])\s?(\d{6})[\s-]?(\d)\b")


def _letter_values() -> dict[str, int]:
    values: dict[str, int] = {}
    value = 10
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if value % 11 == 0:
            value += 1
        values[letter] = value
        value += 1
    return values


_LETTER_VALUES = _letter_values()


def normalize_container(number: str) -> str:
    """``MSCU 123456-7`` -> ``MSCU1234567``."""
    return re.sub(r"[\s\-/]", "", number).upper()


def iso6346_check_digit(first_ten: str) -> int:
    """The check digit of owner code + category + serial (10 characters)."""
    total = 0
    for i, ch in enumerate(first_ten):
        total += (_LETTER_VALUES[ch] if ch.isalpha() else int(ch)) * (2**i)
    return total % 11 % 10


def container_problem(number: str) -> str | None:
    """None when ``number`` is a well-formed ISO 6346 number with a correct check digit."""
    norm = normalize_container(number)
    match = _CONTAINER_RE.match(norm)
    if match is None:
        return "not of the form AAAU1234567 (owner code, category U/J/Z, 6 digits, check digit)"
    expected = iso6346_check_digit(norm[:10])
    if int(match.group(4)) != expected:
        return f"check digit is {match.group(4)}, ISO 6346 gives {expected}"
    return None


def containers_in_text(text: str) -> list[str]:
    """Every ISO 6346 number with a correct check digit in ``text``, in order, once each."""
    found: list[str] = []
    for match in _CONTAINER_IN_TEXT.finditer(text):
        number = "".join(match.groups())
        if container_problem(number) is None and number not in found:
            found.append(number)
    return found
