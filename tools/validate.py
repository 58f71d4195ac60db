"""Deterministic checks of an extracted record, returning issues the model can act on.

``normalize`` first rewrites what has one right spelling (dates to ISO, codes to upper
case, container numbers without spaces); ``validate`` then checks codes (ISO 6346, ISO 3166,
ISO 4217, UN/LOCODE, Incoterms 2020, HS codes in the knowledge base), arithmetic (line
amounts, totals), weights, dates and required fields. Each ``Issue`` names the field by
its dotted path (``line_items[2].amount``) so a model can re-read and fix that value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.records import DocType, values_model_for
from core.values import normalize_currency
from tools.candidates import normalize_incoterm
from tools.validate_codes import (
    INCOTERMS_2020,
    ISO_3166_ALPHA2,
    ISO_4217,
    container_problem,
    containers_in_text,
    country_code,
    locode_problem,
    normalize_container,
    parse_date,
    parse_number,
)

HsExists = Callable[[str], bool]


class Issue(BaseModel):
    """One problem with one field. ``code`` is stable; ``message`` is for model and human."""

    code: str
    field: str
    message: str
    severity: Literal["error", "warning"] = "error"


class ValidationResult(BaseModel):
    issues: list[Issue] = Field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


REQUIRED: dict[DocType, tuple[tuple[str, ...], ...]] = {
    # Each entry is one requirement; a tuple of several paths means "one of these".
    "bill_of_lading": (
        ("bl_number",),
        ("shipper.name",),
        ("consignee.name",),
        ("port_of_loading.name", "port_of_loading.locode"),
        ("port_of_discharge.name", "port_of_discharge.locode"),
    ),
    "commercial_invoice": (
        ("invoice_number",),
        ("invoice_date",),
        ("seller.name",),
        ("buyer.name",),
        ("currency",),
        ("total",),
        ("line_items",),
    ),
    "packing_list": (
        ("packing_list_number", "invoice_reference"),
        ("shipper.name", "consignee.name"),
        ("line_items",),
    ),
    "customs_declaration": (
        ("declaration_number", "mrn"),
        ("declarant.name", "exporter.name", "importer.name"),
        ("line_items",),
    ),
}

_DATE_FIELDS = ("date_of_issue", "invoice_date", "date", "declaration_date")
_COUNTRY_FIELDS = ("country_of_dispatch", "country_of_origin", "country_of_destination")
_PARTIES = ("shipper", "consignee", "notify_party", "seller", "buyer")
_PARTIES_DECL = ("declarant", "exporter", "importer")
_LOCATIONS = ("place_of_receipt", "port_of_loading", "port_of_discharge", "place_of_delivery")
_NON_DIGITS = re.compile(r"\D")
_NAME_AND_LOCODE = re.compile(r"^(.*?)\s*\(([A-Z]{2}\s?[A-Z2-9]{3})\)$")


# --- normalization ------------------------------------------------------------------------


def _coerce(
    node: Any, schema: dict[str, Any], defs: dict[str, Any], decimal: str | None = None
) -> Any:
    if "$ref" in schema:
        return _coerce(node, defs[schema["$ref"].rsplit("/", 1)[-1]], defs, decimal)
    kinds = {s.get("type") for s in schema.get("anyOf", [schema])}
    if node is None and kinds == {"array"}:  # "line_items": null
        return []
    if isinstance(node, float) and kinds & {"integer"} and "number" not in kinds:
        return int(node) if node.is_integer() else None
    if isinstance(node, dict) and kinds == {"array"}:  # one row where a list is expected
        node = [node]
    if isinstance(node, str) and kinds & {"number", "integer"}:
        number = parse_number(node, decimal=decimal)
        if number is not None and "integer" in kinds and number.is_integer():
            return int(number)
        return number if "number" in kinds else None
    if isinstance(node, int | float) and not isinstance(node, bool) and "string" in kinds:
        return str(node)
    if isinstance(node, str) and (target := _object_option(schema, defs)) is not None:
        # "Busan (KRPUS)" where a Location is expected, "Acme GmbH" where a Party is.
        props = target.get("properties", {})
        match = _NAME_AND_LOCODE.match(node.strip())
        if match and "locode" in props:
            return {"name": match.group(1), "locode": match.group(2).replace(" ", "")}
        return {"name": node} if "name" in props else node
    if isinstance(node, dict):
        for option in schema.get("anyOf", [schema]):
            if option.get("type") == "object" or "$ref" in option:
                target = defs[option["$ref"].rsplit("/", 1)[-1]] if "$ref" in option else option
                props = target.get("properties", {})
                return {
                    k: _coerce(v, props[k], defs, decimal) if k in props else v
                    for k, v in node.items()
                }
    if isinstance(node, list) and "array" in kinds:
        items = next(s.get("items", {}) for s in schema.get("anyOf", [schema]) if "items" in s)
        return [_coerce(v, items, defs, decimal) for v in node]
    return node


def _object_option(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    for option in schema.get("anyOf", [schema]):
        if "$ref" in option:
            found: dict[str, Any] = defs[option["$ref"].rsplit("/", 1)[-1]]
            return found
        if option.get("type") == "object":
            obj: dict[str, Any] = option
            return obj
    return None


def add_printed_containers(values: dict[str, Any], text: str) -> dict[str, Any]:
    """Containers printed in the text (valid ISO 6346 check digit) that the model left out.

    A check-digit-valid container number is near certain, so this deterministic pass adds
    what a small model skips in a long container table.
    """
    rows = list(values.get("containers") or [])
    have = {normalize_container(str(r.get("number") or "")) for r in rows}
    rows += [{"number": n} for n in containers_in_text(text) if n not in have]
    return {**values, "containers": rows}


def coerce_types(
    doc_type: DocType, raw: dict[str, Any], decimal: str | None = None
) -> dict[str, Any]:
    """Numbers written as text (``"24.816,00"``, ``"12 PCS"``) become numbers, numbers in
    text fields become text; what cannot be read as a number becomes null, not an error."""
    schema = values_model_for(doc_type).model_json_schema()
    out: dict[str, Any] = _coerce(raw, schema, schema.get("$defs", {}), decimal)
    return out


def _norm_code(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _norm_country(value: Any) -> Any:
    """``de`` -> ``DE``; ``Brasilien`` / ``Korea, Republic of`` -> their alpha-2 code."""
    if not isinstance(value, str):
        return value
    code = value.strip().upper()
    return code if code in ISO_3166_ALPHA2 else (country_code(value) or value)


def _norm_party(party: dict[str, Any]) -> dict[str, Any]:
    """Country code normalized; an address that ends with a country name leaves the name to
    ``country`` (``..., 200120 Shanghai, China`` -> address without it, country ``CN``)."""
    out = dict(party)
    address = out.get("address")
    if isinstance(address, str) and "," in address:
        head, _, last = address.rpartition(",")
        code = country_code(last.strip())
        if code is not None and head.strip():
            out["address"] = head.strip()
            out["country"] = out.get("country") or code
    out["country"] = _norm_country(out.get("country"))
    return out


def normalize(doc_type: DocType, values: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``values`` with the spellings that have one right form rewritten."""
    out: dict[str, Any] = values_model_for(doc_type).model_validate(values).model_dump()
    for key in _DATE_FIELDS:
        if isinstance(out.get(key), str):
            parsed = parse_date(out[key])
            out[key] = parsed.isoformat() if parsed else out[key]
    if isinstance(out.get("currency"), str):
        out["currency"] = normalize_currency(out["currency"])
    for key in ("scac", "freight_terms"):
        if key in out:
            out[key] = _norm_code(out[key])
    if isinstance(out.get("incoterm"), str):
        out["incoterm"] = normalize_incoterm(out["incoterm"])
    for key in _COUNTRY_FIELDS:
        if key in out:
            out[key] = _norm_country(out[key])
    for key in (*_PARTIES, *_PARTIES_DECL):
        if isinstance(out.get(key), dict):
            out[key] = _norm_party(out[key])
    for key in _LOCATIONS:
        loc = out.get(key)
        if not isinstance(loc, dict):
            continue
        match = _NAME_AND_LOCODE.match(str(loc.get("name") or "").strip())
        if match:
            loc["name"] = match.group(1)
            loc["locode"] = loc.get("locode") or match.group(2)
        if isinstance(loc.get("locode"), str):
            loc["locode"] = loc["locode"].replace(" ", "").upper()
    for container in out.get("containers", []):
        if isinstance(container.get("number"), str):
            container["number"] = normalize_container(container["number"])
    for line in out.get("line_items", []):
        for code_key in ("hs_code", "commodity_code"):
            if isinstance(line.get(code_key), str):
                line[code_key] = _NON_DIGITS.sub("", line[code_key]) or line[code_key]
        if "origin_country" in line:
            line["origin_country"] = _norm_country(line["origin_country"])
    return out


# --- checks -------------------------------------------------------------------------------


def _get(values: dict[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _present(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return bool(value)
    return value is not None


def field_present(values: dict[str, Any], path: str) -> bool:
    """Whether the record has a value at ``path`` (``consignee.name``): not None, blank or
    an empty list."""
    return _present(_get(values, path))


def _required(doc_type: DocType, values: dict[str, Any]) -> Iterable[Issue]:
    for alternatives in REQUIRED[doc_type]:
        if not any(field_present(values, p) for p in alternatives):
            names = " or ".join(alternatives)
            yield Issue(code="required_missing", field=alternatives[0], message=f"{names} is empty")


def _codes(values: dict[str, Any]) -> Iterable[Issue]:
    countries: list[tuple[str, Any]] = [(k, values.get(k)) for k in _COUNTRY_FIELDS]
    countries += [(f"{p}.country", _get(values, f"{p}.country")) for p in _PARTIES + _PARTIES_DECL]
    for i, line in enumerate(values.get("line_items", [])):
        countries.append((f"line_items[{i}].origin_country", line.get("origin_country")))
    for path, code in countries:
        if _present(code) and code not in ISO_3166_ALPHA2:
            yield Issue(
                code="country_code",
                field=path,
                message=f"{code!r} is not an ISO 3166-1 alpha-2 country code (e.g. DE, NL, CN)",
            )
    currency = values.get("currency")
    if _present(currency) and currency not in ISO_4217:
        yield Issue(code="currency_code", field="currency", message=f"{currency!r} is not ISO 4217")
    incoterm = values.get("incoterm")
    if _present(incoterm) and incoterm not in INCOTERMS_2020:
        allowed = ", ".join(sorted(INCOTERMS_2020))
        yield Issue(
            code="incoterm",
            field="incoterm",
            message=f"{incoterm!r} is not an Incoterms 2020 rule ({allowed})",
        )
    for key in _LOCATIONS:
        locode = _get(values, f"{key}.locode")
        if _present(locode) and (problem := locode_problem(str(locode))):
            yield Issue(code="locode", field=f"{key}.locode", message=f"{locode!r}: {problem}")
    for i, container in enumerate(values.get("containers", [])):
        number = container.get("number")
        if _present(number) and (problem := container_problem(str(number))):
            yield Issue(
                code="container_number",
                field=f"containers[{i}].number",
                message=f"{number!r}: {problem}",
            )


def _hs_codes(doc_type: DocType, values: dict[str, Any], hs_exists: HsExists) -> Iterable[Issue]:
    key = "commodity_code" if doc_type == "customs_declaration" else "hs_code"
    for i, line in enumerate(values.get("line_items", [])):
        code = line.get(key)
        if not _present(code):
            continue
        path = f"line_items[{i}].{key}"
        if not str(code).isdigit() or len(str(code)) < 6:
            yield Issue(code="hs_code_form", field=path, message=f"{code!r} is not 6+ digits")
        elif not hs_exists(str(code)):
            yield Issue(
                code="hs_code_unknown",
                field=path,
                message=f"{code} is not in the tariff; use lookup_tariff on the description",
            )


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(0.05, 0.005 * max(abs(a), abs(b)))


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _sum(lines: list[dict[str, Any]], key: str) -> float | None:
    nums = [_num(line.get(key)) for line in lines]
    present = [n for n in nums if n is not None]
    return sum(present) if present and len(present) == len(nums) else None


def _arithmetic(doc_type: DocType, values: dict[str, Any]) -> Iterable[Issue]:
    lines: list[dict[str, Any]] = values.get("line_items", [])
    if doc_type == "commercial_invoice":
        for i, line in enumerate(lines):
            qty, price, amount = (_num(line.get(k)) for k in ("quantity", "unit_price", "amount"))
            if qty is None or price is None or amount is None:
                continue
            if not _close(qty * price, amount):
                yield Issue(
                    code="line_amount",
                    field=f"line_items[{i}].amount",
                    message=f"quantity {qty:g} x unit price {price:g} = {qty * price:.2f}, "
                    f"not {amount:.2f}",
                )
        yield from _invoice_total(values, lines)
    totals = {
        "packing_list": (
            ("gross_weight_kg", "total_gross_weight_kg"),
            ("net_weight_kg", "total_net_weight_kg"),
            ("package_count", "total_packages"),
        ),
        "customs_declaration": (
            ("customs_value", "total_customs_value"),
            ("duty", "total_duty"),
            ("vat", "total_vat"),
        ),
    }.get(doc_type, ())
    for line_key, total_key in totals:
        total, summed = _num(values.get(total_key)), _sum(lines, line_key)
        if total is not None and summed is not None and not _close(total, summed):
            yield Issue(
                code="lines_total",
                field=total_key,
                message=f"the lines' {line_key} sum to {summed:.2f}, {total_key} is {total:.2f}",
            )


def _invoice_total(values: dict[str, Any], lines: list[dict[str, Any]]) -> Iterable[Issue]:
    summed = _sum(lines, "amount")
    if summed is None:
        return
    subtotal, total = _num(values.get("subtotal")), _num(values.get("total"))
    if subtotal is not None:
        if not _close(subtotal, summed):
            yield Issue(
                code="lines_total",
                field="subtotal",
                message=f"line amounts sum to {summed:.2f}, subtotal is {subtotal:.2f}",
            )
        summed = subtotal
    if total is None:
        return
    extras = sum(_num(values.get(k)) or 0.0 for k in ("freight", "insurance", "tax"))
    if not _close(total, summed + extras):
        yield Issue(
            code="lines_total",
            field="total",
            message=f"lines {summed:.2f} + freight/insurance/tax {extras:.2f} = "
            f"{summed + extras:.2f}, total is {total:.2f}",
        )


def _weights(values: dict[str, Any]) -> Iterable[Issue]:
    pairs = [("total_net_weight_kg", "total_gross_weight_kg", "total_gross_weight_kg")]
    for i, _line in enumerate(values.get("line_items", [])):
        pairs.append(
            (
                f"line_items[{i}].net_weight_kg",
                f"line_items[{i}].gross_weight_kg",
                f"line_items[{i}].gross_weight_kg",
            )
        )
    for net_path, gross_path, field in pairs:
        net, gross = _num(_path_value(values, net_path)), _num(_path_value(values, gross_path))
        if net is not None and gross is not None and gross < net:
            yield Issue(
                code="weights",
                field=field,
                message=f"gross weight {gross:g} kg is less than net weight {net:g} kg",
            )


def _path_value(values: dict[str, Any], path: str) -> Any:
    match = re.fullmatch(r"(\w+)\[(\d+)\]\.(\w+)", path)
    if match:
        rows = values.get(match.group(1), [])
        idx = int(match.group(2))
        return rows[idx].get(match.group(3)) if idx < len(rows) else None
    return _get(values, path)


def _dates(values: dict[str, Any], today: date) -> Iterable[Issue]:
    earliest, latest = date(1990, 1, 1), today + timedelta(days=366)
    for key in _DATE_FIELDS:
        raw = values.get(key)
        if not _present(raw):
            continue
        parsed = parse_date(str(raw))
        if parsed is None:
            yield Issue(code="date", field=key, message=f"{raw!r} is not a date (use YYYY-MM-DD)")
        elif not earliest <= parsed <= latest:
            yield Issue(code="date", field=key, message=f"{parsed} is not a plausible date")


def validate(
    doc_type: DocType,
    values: dict[str, Any],
    *,
    hs_exists: HsExists | None = None,
    today: date | None = None,
) -> ValidationResult:
    """All deterministic checks on a normalized record (``normalize`` it first)."""
    issues: list[Issue] = []
    issues += _required(doc_type, values)
    issues += _codes(values)
    if hs_exists is not None:
        issues += _hs_codes(doc_type, values, hs_exists)
    issues += _arithmetic(doc_type, values)
    issues += _weights(values)
    issues += _dates(values, today or datetime.now(UTC).date())
    return ValidationResult(issues=issues)
