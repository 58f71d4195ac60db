"""Real-world reference values the corpus generator draws from.

Country codes are ISO 3166-1 alpha-2, currencies ISO 4217, places UN/LOCODEs, carriers'
SCAC codes and owner prefixes as published; container numbers and MRNs get their real check
digits (ISO 6346).
"""

# ruff: noqa: E501  (data tables read best one entry per line)
from __future__ import annotations

from dataclasses import dataclass

from core.values import iso6346_check_digit

Lang = str  # "en" | "nl" | "de" | "fr"
LANGS: tuple[Lang, ...] = ("en", "nl", "de", "fr")


@dataclass(frozen=True)
class Country:
    code: str
    names: dict[Lang, str]
    currency: str


# fmt: off
COUNTRIES: dict[str, Country] = {
    c.code: c
    for c in (
        Country("NL", {"en": "Netherlands", "nl": "Nederland", "de": "Niederlande", "fr": "Pays-Bas"}, "EUR"),
        Country("DE", {"en": "Germany", "nl": "Duitsland", "de": "Deutschland", "fr": "Allemagne"}, "EUR"),
        Country("BE", {"en": "Belgium", "nl": "België", "de": "Belgien", "fr": "Belgique"}, "EUR"),
        Country("FR", {"en": "France", "nl": "Frankrijk", "de": "Frankreich", "fr": "France"}, "EUR"),
        Country("GB", {"en": "United Kingdom", "nl": "Verenigd Koninkrijk", "de": "Vereinigtes Königreich", "fr": "Royaume-Uni"}, "GBP"),
        Country("US", {"en": "United States", "nl": "Verenigde Staten", "de": "Vereinigte Staaten", "fr": "États-Unis"}, "USD"),
        Country("CN", {"en": "China", "nl": "China", "de": "China", "fr": "Chine"}, "CNY"),
        Country("IN", {"en": "India", "nl": "India", "de": "Indien", "fr": "Inde"}, "INR"),
        Country("VN", {"en": "Viet Nam", "nl": "Vietnam", "de": "Vietnam", "fr": "Viêt Nam"}, "USD"),
        Country("TR", {"en": "Türkiye", "nl": "Turkije", "de": "Türkei", "fr": "Turquie"}, "TRY"),
        Country("IT", {"en": "Italy", "nl": "Italië", "de": "Italien", "fr": "Italie"}, "EUR"),
        Country("ES", {"en": "Spain", "nl": "Spanje", "de": "Spanien", "fr": "Espagne"}, "EUR"),
        Country("PL", {"en": "Poland", "nl": "Polen", "de": "Polen", "fr": "Pologne"}, "PLN"),
        Country("JP", {"en": "Japan", "nl": "Japan", "de": "Japan", "fr": "Japon"}, "JPY"),
        Country("KR", {"en": "Korea, Republic of", "nl": "Zuid-Korea", "de": "Südkorea", "fr": "Corée du Sud"}, "USD"),
        Country("BR", {"en": "Brazil", "nl": "Brazilië", "de": "Brasilien", "fr": "Brésil"}, "USD"),
        Country("CH", {"en": "Switzerland", "nl": "Zwitserland", "de": "Schweiz", "fr": "Suisse"}, "CHF"),
        Country("SG", {"en": "Singapore", "nl": "Singapore", "de": "Singapur", "fr": "Singapour"}, "USD"),
    )
}
# fmt: on

EU = ("NL", "DE", "BE", "FR", "IT", "ES", "PL")


@dataclass(frozen=True)
class Place:
    locode: str
    name: str
    seaport: bool

    @property
    def country(self) -> str:
        return self.locode[:2]


PLACES: tuple[Place, ...] = (
    Place("NLRTM", "Rotterdam", True),
    Place("NLAMS", "Amsterdam", True),
    Place("NLVEN", "Venlo", False),
    Place("NLTLB", "Tilburg", False),
    Place("DEHAM", "Hamburg", True),
    Place("DEBRV", "Bremerhaven", True),
    Place("DEDUI", "Duisburg", False),
    Place("DEMUC", "München", False),
    Place("DEFRA", "Frankfurt am Main", False),
    Place("BEANR", "Antwerpen", True),
    Place("BEZEE", "Zeebrugge", True),
    Place("BEBRU", "Bruxelles", False),
    Place("FRLEH", "Le Havre", True),
    Place("FRFOS", "Fos-sur-Mer", True),
    Place("FRPAR", "Paris", False),
    Place("GBFXT", "Felixstowe", True),
    Place("GBSOU", "Southampton", True),
    Place("USNYC", "New York", True),
    Place("USLAX", "Los Angeles", True),
    Place("USSAV", "Savannah", True),
    Place("USCHI", "Chicago", False),
    Place("CNSHA", "Shanghai", True),
    Place("CNNGB", "Ningbo", True),
    Place("CNYTN", "Yantian", True),
    Place("CNTAO", "Qingdao", True),
    Place("CNWUH", "Wuhan", False),
    Place("CNCTU", "Chengdu", False),
    Place("SGSIN", "Singapore", True),
    Place("INNSA", "Nhava Sheva", True),
    Place("INMAA", "Chennai", True),
    Place("VNSGN", "Ho Chi Minh City", True),
    Place("VNHPH", "Haiphong", True),
    Place("TRIST", "Istanbul", True),
    Place("TRMER", "Mersin", True),
    Place("ITGOA", "Genova", True),
    Place("ESVLC", "Valencia", True),
    Place("ESALG", "Algeciras", True),
    Place("PLGDN", "Gdansk", True),
    Place("JPTYO", "Tokyo", True),
    Place("KRPUS", "Busan", True),
    Place("BRSSZ", "Santos", True),
)


def places_in(country: str, *, seaport: bool | None = None) -> list[Place]:
    return [p for p in PLACES if p.country == country and (seaport is None or p.seaport == seaport)]


@dataclass(frozen=True)
class Carrier:
    name: str
    scac: str
    container_prefixes: tuple[str, ...]
    bl_prefix: str
    vessels: tuple[str, ...]


# fmt: off
CARRIERS: tuple[Carrier, ...] = (
    Carrier("Maersk A/S", "MAEU", ("MSKU", "MRKU", "MAEU"), "MAEU", ("MAERSK ESSEN", "MAERSK HANGZHOU", "MARY MAERSK")),
    Carrier("Mediterranean Shipping Company S.A.", "MSCU", ("MSCU", "MEDU", "TGHU"), "MEDU", ("MSC GULSUN", "MSC ISABELLA", "MSC TESSA")),
    Carrier("CMA CGM S.A.", "CMDU", ("CMAU", "TCLU", "ECMU"), "CMDU", ("CMA CGM JACQUES SAADE", "CMA CGM MARCO POLO")),
    Carrier("Hapag-Lloyd AG", "HLCU", ("HLXU", "HLBU", "FANU"), "HLCU", ("HAMBURG EXPRESS", "BERLIN EXPRESS", "AL ZUBARA")),
    Carrier("Ocean Network Express Pte. Ltd.", "ONEY", ("ONEU", "TCNU", "NYKU"), "ONEY", ("ONE APUS", "ONE INNOVATION")),
    Carrier("Evergreen Marine Corp.", "EGLV", ("EGHU", "EISU", "EMCU"), "EGLV", ("EVER ACE", "EVER GIVEN", "EVER ALOT")),
    Carrier("COSCO Shipping Lines Co., Ltd.", "COSU", ("CSNU", "CBHU", "FCIU"), "COSU", ("COSCO SHIPPING UNIVERSE", "COSCO SHIPPING ARIES")),
    Carrier("Yang Ming Marine Transport Corp.", "YMLU", ("YMLU", "YMMU"), "YMLU", ("YM WELLNESS", "YM WARRANTY")),
    Carrier("HMM Co., Ltd.", "HDMU", ("HMMU", "KOCU"), "HDMU", ("HMM ALGECIRAS", "HMM OSLO")),
    Carrier("ZIM Integrated Shipping Services Ltd.", "ZIMU", ("ZIMU", "JXLU"), "ZIMU", ("ZIM SAMMY OFER", "ZIM KINGSTON")),
)
# fmt: on

# ISO 6346 size/type codes and how they are printed on documents.
SIZE_TYPES: dict[str, str] = {
    "22G1": "20' GP",
    "42G1": "40' GP",
    "45G1": "40' HC",
    "22R1": "20' RF",
    "45R1": "40' HC RF",
    "L5G1": "45' HC",
}

INCOTERMS = ("EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF")
INCOTERMS_SEA_ONLY = ("FAS", "FOB", "CFR", "CIF")

PACKAGE_TYPES: dict[str, dict[Lang, str]] = {
    "PALLETS": {"en": "PALLETS", "nl": "PALLETS", "de": "PALETTEN", "fr": "PALETTES"},
    "CARTONS": {"en": "CARTONS", "nl": "DOZEN", "de": "KARTONS", "fr": "CARTONS"},
    "CRATES": {"en": "CRATES", "nl": "KRATTEN", "de": "KISTEN", "fr": "CAISSES"},
    "BAGS": {"en": "BAGS", "nl": "ZAKKEN", "de": "SÄCKE", "fr": "SACS"},
    "DRUMS": {"en": "DRUMS", "nl": "VATEN", "de": "FÄSSER", "fr": "FÛTS"},
}

PROCEDURE_CODES = ("4000", "4200", "4071", "5100", "7100")

PAYMENT_TERMS: dict[Lang, tuple[str, ...]] = {
    "en": ("30 days net", "T/T in advance", "60 days from invoice date", "L/C at sight", "CAD"),
    "nl": ("30 dagen netto", "Vooruitbetaling", "60 dagen na factuurdatum", "14 dagen 2% korting"),
    "de": ("30 Tage netto", "Vorauskasse", "14 Tage 2 % Skonto, 30 Tage netto", "60 Tage netto"),
    "fr": ("30 jours net", "Paiement à réception", "60 jours fin de mois", "Virement anticipé"),
}


def container_number(prefix: str, serial: int) -> str:
    """A valid ISO 6346 container number: 4-letter owner/category code + 6 digits + check."""
    base = f"{prefix}{serial:06d}"
    return f"{base}{iso6346_check_digit(base)}"


def is_valid_container_number(number: str) -> bool:
    if len(number) != 11 or not number[:4].isalpha() or not number[4:].isdigit():
        return False
    return iso6346_check_digit(number[:10]) == int(number[10])


def mrn(year: int, country: str, serial: str, procedure_letter: str) -> str:
    """An EU movement reference number: YY CC 12 chars, procedure letter, ISO 6346 check."""
    body = f"{year % 100:02d}{country}{serial}{procedure_letter}"
    if len(body) != 17:
        raise ValueError("MRN body must be 17 characters")
    return f"{body}{iso6346_check_digit(body)}"


# Origins other than the seller's own country that appear on mixed consignments.
EXPORTERS_EXTRA = ("CN", "VN", "IN", "TR", "IT", "DE")
