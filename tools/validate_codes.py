"""Code lists and single-value checks used by ``tools.validate``.

The ISO lists are shipped here (from Debian's iso-codes 4.x) so validation needs no network
and no extra package; they change a few times a decade.
"""

from __future__ import annotations

import re
from datetime import date, datetime

_ISO_3166_TEXT = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
ZW
"""

_ISO_4217_TEXT = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP
ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR
ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD
MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL
THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF
XCD XDR XOF XPF YER ZAR ZMW ZWL
"""

ISO_3166_ALPHA2 = frozenset(_ISO_3166_TEXT.split())
ISO_4217 = frozenset(_ISO_4217_TEXT.split())
INCOTERMS_2020 = frozenset(
    {"EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF"}
)

_CONTAINER_RE = re.compile(r"^([A-Z]{3})([UJZ])(\d{6})(\d)$")
_LOCODE_RE = re.compile(r"^([A-Z]{2})\s?([A-Z2-9]{3})$")


def _iso6346_letter_values() -> dict[str, int]:
    values: dict[str, int] = {}
    value = 10
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if value % 11 == 0:
            value += 1
        values[letter] = value
        value += 1
    return values


_LETTER_VALUES = _iso6346_letter_values()


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


def locode_problem(code: str) -> str | None:
    """None when ``code`` has the UN/LOCODE form (ISO country + 3 characters)."""
    match = _LOCODE_RE.match(code.strip().upper())
    if match is None:
        return "not of the UN/LOCODE form CCLLL (country code + 3 letters/digits 2-9)"
    if match.group(1) not in ISO_3166_ALPHA2:
        return f"{match.group(1)} is not an ISO 3166 country code"
    return None


_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%d %b %Y", "%d %B %Y")


def parse_date(value: str) -> date | None:
    """ISO 8601 first, then the common day-first forms; None when nothing parses."""
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
    return None


_NUMBER_TOKEN = re.compile(r"[-+]?(?:\d[\d.,']*\d|\d)")
_SPACE_GROUP = re.compile(r"(?<=\d)[ \u00a0\u202f](?=\d{3}(?!\d))")


def parse_number(text: str) -> float | None:
    """``24.816,00`` / ``1,250.50`` / ``12 PCS`` / ``EUR 300`` -> a float; None if unclear.

    The last of ``.`` and ``,`` is the decimal separator when both occur; a lone separator
    that repeats (``1.250.000``) or a comma followed by exactly three digits (``1,250``)
    groups thousands; a lone comma otherwise is a decimal comma (``56,40``). A text with
    two numbers in it is unclear.
    """
    tokens = _NUMBER_TOKEN.findall(_SPACE_GROUP.sub("", text))
    if len(tokens) != 1:
        return None
    token = tokens[0].replace("'", "")
    if "." in token and "," in token:
        decimal = "." if token.rfind(".") > token.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        token = token.replace(thousands, "").replace(decimal, ".")
    elif "," in token:
        grouping = token.count(",") > 1 or len(token.rsplit(",", 1)[1]) == 3
        token = token.replace(",", "") if grouping else token.replace(",", ".")
    elif token.count(".") > 1:
        token = token.replace(".", "")
    try:
        return float(token)
    except ValueError:
        return None
