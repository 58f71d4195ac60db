"""How two values of a field are compared: exact, equivalent, or different.

A field's kind (from the values models of ``core.records``) decides what "equivalent"
means: dates that name the same day, amounts within tolerance, a country's name and its
code, party names that differ only in case, punctuation or the spelling of the legal form,
HS codes with or without dots.
"""

from __future__ import annotations

import re
import types
import unicodedata
from datetime import date
from functools import lru_cache
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from core.records import DocType, Scalar, values_model_for
from core.values import parse_date as read_date
from core.values import parse_number as read_number
from evals.refdata import COUNTRIES

Kind = Literal["number", "integer", "date", "country", "code", "locode", "name", "text"]

ABS_TOLERANCE = 0.011
REL_TOLERANCE = 0.001


def _strip_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _kind(key: str, annotation: Any) -> Kind:
    leaf = key.rsplit(".", 1)[-1]
    if annotation is int:
        return "integer"
    if annotation is float:
        return "number"
    if "date" in leaf:
        return "date"
    if "country" in leaf:
        return "country"
    if leaf in ("hs_code", "commodity_code"):
        return "code"
    if leaf == "locode":
        return "locode"
    if leaf == "name" or leaf == "carrier":
        return "name"
    return "text"


def _walk(model: type[BaseModel], prefix: str, out: dict[str, Kind]) -> None:
    for name, info in model.model_fields.items():
        annotation = _strip_optional(info.annotation)
        if get_origin(annotation) is list:
            (item,) = get_args(annotation)
            _walk(item, f"{prefix}{name}[].", out)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _walk(annotation, f"{prefix}{name}.", out)
        else:
            out[f"{prefix}{name}"] = _kind(name if not prefix else f"{prefix}{name}", annotation)


@lru_cache(maxsize=8)
def field_kinds(doc_type: DocType) -> dict[str, Kind]:
    """Envelope keys (rows as ``line_items[].amount``) -> their kind."""
    out: dict[str, Kind] = {}
    _walk(values_model_for(doc_type), "", out)
    return out


# --- parsing ------------------------------------------------------------------------------


def parse_number(value: Scalar) -> float | None:
    """Numbers as printed anywhere: the product's reader (core/values), first number wins."""
    if isinstance(value, bool) or value is None:
        return None
    return read_number(value, strict=False)


def parse_date(value: Scalar) -> date | None:
    """Dates as printed anywhere: the product's reader (core/values)."""
    return read_date(value) if isinstance(value, str) else None


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for code, country in COUNTRIES.items():
        names[squash(code)] = code
        for name in country.names.values():
            names[squash(name)] = code
    extra = {
        "holland": "NL",
        "the netherlands": "NL",
        "uk": "GB",
        "great britain": "GB",
        "usa": "US",
        "united states of america": "US",
        "prc": "CN",
        "vietnam": "VN",
        "turkey": "TR",
        "south korea": "KR",
        "korea": "KR",
    }
    names.update({squash(k): v for k, v in extra.items()})
    return names


def parse_country(value: Scalar) -> str | None:
    if not isinstance(value, str):
        return None
    return _country_names().get(squash(value))


def squash(text: str) -> str:
    """Lower case, accents kept, punctuation and whitespace removed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


_LEGAL_FORMS = re.compile(
    r"\b(b\.?\s?v\.?|n\.?\s?v\.?|gmbh(\s?&\s?co\.?\s?kg)?|ag|kg|sas|sarl|s\.?a\.?|s\.?r\.?l\.?|"
    r"s\.?p\.?a\.?|s\.?l\.?|ltd\.?|limited|plc|inc\.?|incorporated|llc|corp\.?|corporation|"
    r"co\.?,?\s?ltd\.?|company|co\.?|pte\.?|pvt\.?|jsc|k\.?k\.?|a\.?ş\.?|ltda\.?|sp\.? z o\.?o\.?)"
    r"(?=\s|$|,)",
    re.IGNORECASE,
)


def core_name(text: str) -> str:
    """A party's name without its legal form, case or punctuation."""
    return squash(_LEGAL_FORMS.sub(" ", text))


# --- comparing ----------------------------------------------------------------------------

Verdict = Literal["exact", "equivalent", "wrong"]


def compare(kind: Kind, truth: Scalar, predicted: Scalar) -> Verdict:
    """Both values present: are they the same?"""
    if type(truth) is type(predicted) and truth == predicted:
        return "exact"
    if kind in ("number", "integer"):
        a, b = parse_number(truth), parse_number(predicted)
        if a is None or b is None:
            return "wrong"
        if a == b:
            return (
                "exact" if kind == "integer" or isinstance(predicted, int | float) else "equivalent"
            )
        tolerance = max(ABS_TOLERANCE, REL_TOLERANCE * abs(a))
        return "equivalent" if abs(a - b) <= tolerance else "wrong"
    if not isinstance(truth, str) or not isinstance(predicted, str):
        return "equivalent" if str(truth) == str(predicted) else "wrong"
    if kind == "date":
        d1, d2 = parse_date(truth), parse_date(predicted)
        return "equivalent" if d1 is not None and d1 == d2 else "wrong"
    if kind == "country":
        c1, c2 = parse_country(truth), parse_country(predicted)
        return "equivalent" if c1 is not None and c1 == c2 else "wrong"
    if kind in ("code", "locode"):
        return "equivalent" if squash(truth) == squash(predicted) else "wrong"
    if squash(truth) == squash(predicted):
        return "equivalent"
    if kind == "name" and core_name(truth) and core_name(truth) == core_name(predicted):
        return "equivalent"
    return "wrong"


def is_blank(value: Scalar) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
