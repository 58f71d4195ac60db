"""Record schemas: what an extracted shipment document is.

Two shapes per document type:

* the **values model** (``BillOfLadingValues``, ``CommercialInvoiceValues``, ...): plain
  values only, flat-ish, every field optional, no regex patterns. This is what a model is
  asked to fill (``values_json_schema(doc_type)``).
* the **envelope** (``Record``): document type, schema version, ``fields`` keyed by dotted
  path (``shipper.name``, ``port_of_loading.locode``), ``line_items`` and ``containers``
  as lists of such dicts, and every value wrapped in a ``FieldValue`` that can carry
  provenance (page, box, source text) and a confidence.

``values_to_record`` and ``record_to_values`` convert between them. Changes to this module
are additive only; ``SCHEMA_VERSION`` is bumped when a field is added.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"

DocType = Literal["bill_of_lading", "commercial_invoice", "packing_list", "customs_declaration"]
DOC_TYPES: tuple[DocType, ...] = get_args(DocType)

Scalar = str | int | float | bool | None

ISO_DATE = "ISO date YYYY-MM-DD"


# --- values-only models (what a model fills) ----------------------------------------------


class _Values(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Party(_Values):
    name: str | None = None
    address: str | None = Field(default=None, description="street, postcode and city as printed")
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 code, e.g. NL")


class Location(_Values):
    name: str | None = Field(default=None, description="place name as printed")
    locode: str | None = Field(default=None, description="UN/LOCODE without space, e.g. NLRTM")


class Container(_Values):
    number: str | None = Field(default=None, description="ISO 6346 number, e.g. MSCU1234565")
    seal: str | None = None
    size_type: str | None = Field(default=None, description="ISO size/type code, e.g. 45G1")


class BillOfLadingLine(_Values):
    marks: str | None = None
    description: str | None = None
    package_count: int | None = None
    package_type: str | None = Field(default=None, description="e.g. PALLETS, CARTONS")
    gross_weight_kg: float | None = None
    volume_m3: float | None = None
    hs_code: str | None = Field(default=None, description="digits only, 6 or more")


class BillOfLadingValues(_Values):
    bl_number: str | None = None
    shipper: Party | None = None
    consignee: Party | None = None
    notify_party: Party | None = None
    carrier: str | None = None
    scac: str | None = Field(default=None, description="4-letter carrier code")
    vessel: str | None = None
    voyage: str | None = None
    place_of_receipt: Location | None = None
    port_of_loading: Location | None = None
    port_of_discharge: Location | None = None
    place_of_delivery: Location | None = None
    containers: list[Container] = Field(default_factory=list)
    line_items: list[BillOfLadingLine] = Field(default_factory=list)
    freight_terms: str | None = Field(default=None, description="PREPAID or COLLECT")
    place_of_issue: str | None = None
    date_of_issue: str | None = Field(default=None, description=ISO_DATE)
    number_of_originals: int | None = None


class InvoiceLine(_Values):
    description: str | None = None
    hs_code: str | None = Field(default=None, description="digits only, 6 or more")
    origin_country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    quantity: float | None = None
    unit: str | None = Field(default=None, description="e.g. PCS, KG, M")
    unit_price: float | None = None
    amount: float | None = None


class CommercialInvoiceValues(_Values):
    invoice_number: str | None = None
    invoice_date: str | None = Field(default=None, description=ISO_DATE)
    seller: Party | None = None
    buyer: Party | None = None
    currency: str | None = Field(default=None, description="ISO 4217 code, e.g. EUR")
    incoterm: str | None = Field(default=None, description="Incoterms 2020 code, e.g. FOB")
    incoterm_place: str | None = None
    payment_terms: str | None = None
    line_items: list[InvoiceLine] = Field(default_factory=list)
    subtotal: float | None = None
    freight: float | None = None
    insurance: float | None = None
    tax: float | None = None
    total: float | None = None


class PackingLine(_Values):
    description: str | None = None
    package_count: int | None = None
    package_type: str | None = None
    quantity: float | None = None
    net_weight_kg: float | None = None
    gross_weight_kg: float | None = None
    length_cm: float | None = None
    width_cm: float | None = None
    height_cm: float | None = None


class PackingListValues(_Values):
    packing_list_number: str | None = None
    date: str | None = Field(default=None, description=ISO_DATE)
    invoice_reference: str | None = None
    shipper: Party | None = None
    consignee: Party | None = None
    line_items: list[PackingLine] = Field(default_factory=list)
    total_packages: int | None = None
    total_net_weight_kg: float | None = None
    total_gross_weight_kg: float | None = None
    total_volume_m3: float | None = None


class DeclarationLine(_Values):
    commodity_code: str | None = Field(default=None, description="digits only, 8 or 10")
    description: str | None = None
    origin_country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    net_mass_kg: float | None = None
    customs_value: float | None = None
    duty: float | None = None
    vat: float | None = None


class CustomsDeclarationValues(_Values):
    declaration_number: str | None = Field(default=None, description="local reference (LRN)")
    mrn: str | None = Field(default=None, description="18-character movement reference number")
    declaration_date: str | None = Field(default=None, description=ISO_DATE)
    declarant: Party | None = None
    exporter: Party | None = None
    importer: Party | None = None
    country_of_dispatch: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    country_of_origin: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    country_of_destination: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    procedure_code: str | None = Field(default=None, description="e.g. 4000")
    currency: str | None = Field(default=None, description="ISO 4217 code")
    line_items: list[DeclarationLine] = Field(default_factory=list)
    total_customs_value: float | None = None
    total_duty: float | None = None
    total_vat: float | None = None


DocumentValues = (
    BillOfLadingValues | CommercialInvoiceValues | PackingListValues | CustomsDeclarationValues
)

VALUES_MODELS: dict[DocType, type[_Values]] = {
    "bill_of_lading": BillOfLadingValues,
    "commercial_invoice": CommercialInvoiceValues,
    "packing_list": PackingListValues,
    "customs_declaration": CustomsDeclarationValues,
}


def values_model_for(doc_type: DocType) -> type[_Values]:
    return VALUES_MODELS[doc_type]


def values_json_schema(doc_type: DocType) -> dict[str, Any]:
    """The JSON schema a model is asked to fill for ``doc_type``."""
    return values_model_for(doc_type).model_json_schema()


# --- the envelope -------------------------------------------------------------------------


class Provenance(BaseModel):
    page: int | None = Field(default=None, description="1-based page number in the file")
    box: tuple[float, float, float, float] | None = Field(
        default=None, description="x0, y0, x1, y1 in the page's units"
    )
    source_text: str | None = Field(default=None, description="the text the value was read from")
    evidence: dict[str, Any] | None = Field(
        default=None, description="what the confidence rests on (tools/confidence.Evidence)"
    )


class FieldValue(BaseModel):
    value: Scalar
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    provenance: Provenance | None = None


Row = dict[str, FieldValue]


class Record(BaseModel):
    """One extracted document in the common envelope."""

    doc_type: DocType
    schema_version: str = SCHEMA_VERSION
    pages: list[int] = Field(
        default_factory=list, description="1-based pages of the file this document occupies"
    )
    fields: Row = Field(default_factory=dict)
    line_items: list[Row] = Field(default_factory=list)
    containers: list[Row] = Field(default_factory=list)

    def value(self, key: str) -> Scalar:
        found = self.fields.get(key)
        return None if found is None else found.value

    def plain(self) -> dict[str, Any]:
        """Fields, line items and containers as bare values (no provenance)."""
        return {
            "fields": {k: v.value for k, v in self.fields.items()},
            "line_items": [{k: v.value for k, v in row.items()} for row in self.line_items],
            "containers": [{k: v.value for k, v in row.items()} for row in self.containers],
        }


class FileRecords(BaseModel):
    """Everything extracted from one file: one record per document (page group) in it."""

    file: str = Field(description="file name the records were extracted from")
    documents: list[Record] = Field(default_factory=list)


# --- merging ------------------------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def overlay(base: Any, patch: Any) -> Any:
    """``patch`` laid over ``base``: what the patch leaves empty keeps the base's value.

    The one record merge: a repair over the first extraction (the repair wins), and the
    windows of a long document (``overlay(later, earlier)``: the first window wins).
    """
    if isinstance(base, dict) and isinstance(patch, dict):
        return {k: overlay(base.get(k), patch.get(k)) for k in {**base, **patch}}
    return base if _empty(patch) else patch


class UnknownField(ValueError):
    """A field path that names no field of the values model (or a row the record lacks)."""


_SEGMENT = re.compile(r"([A-Za-z_]\w*)(?:\[(\d+)\])?")


def _field_path(model: type[BaseModel], record: Any, path: str) -> list[tuple[str, int | None]]:
    """``path`` (``total``, ``buyer.country``, ``line_items[2].amount``) as (name, row index)
    steps, checked against ``model`` and against the rows ``record`` has."""
    steps: list[tuple[str, int | None]] = []
    parts = path.split(".")
    node: Any = record
    current: type[BaseModel] | None = model
    for n, part in enumerate(parts):
        match = _SEGMENT.fullmatch(part.strip())
        field = current.model_fields.get(match.group(1)) if match and current else None
        if match is None or field is None:
            raise UnknownField(f"{path!r} names no field of {model.__name__}")
        name, index = match.group(1), match.group(2)
        inner = [a for a in get_args(field.annotation) if isinstance(a, type)]
        is_list = get_origin(field.annotation) is list
        node = node.get(name) if isinstance(node, dict) else None
        if is_list and index is None and n < len(parts) - 1:
            raise UnknownField(f"{path!r}: {name} is a list; name a row, e.g. {name}[0]")
        if index is not None:
            rows = node if isinstance(node, list) else []
            if not is_list:
                raise UnknownField(f"{path!r}: {name} is not a list")
            if int(index) > len(rows):  # == len(rows): a row the extraction missed
                raise UnknownField(f"{path!r}: the record has {len(rows)} {name} rows")
            node = rows[int(index)] if int(index) < len(rows) else {}
        current = next((a for a in inner if issubclass(a, BaseModel)), None)
        steps.append((name, None if index is None else int(index)))
    return steps


def _nested(node: Any, steps: list[tuple[str, int | None]], value: Any) -> dict[str, Any]:
    (name, index), rest = steps[0], steps[1:]
    child = node.get(name) if isinstance(node, dict) else None
    if index is None:
        return {name: _nested(child, rest, value) if rest else value}
    rows = list(child or [])
    if index == len(rows):
        rows.append({})
    rows[index] = overlay(rows[index], _nested(rows[index], rest, value) if rest else value)
    return {name: rows}


def patch_values(model: type[BaseModel], record: dict[str, Any], fields: dict[str, Any]) -> Any:
    """``record`` with each ``fields`` path set to its value, laid over it with ``overlay``
    (so a null keeps the value that was there); a row index one past the last adds a row
    (one the extraction missed). Raises ``UnknownField`` for a path that names no field
    of ``model`` or a row further on."""
    out: Any = record
    for path, value in fields.items():
        out = overlay(out, _nested(out, _field_path(model, out, path), value))
    return out


# --- conversion ---------------------------------------------------------------------------

_LIST_FIELDS = ("line_items", "containers")


def _flatten(model: BaseModel, prefix: str, out: dict[str, Scalar]) -> None:
    for name in type(model).model_fields:
        if name in _LIST_FIELDS and not prefix:
            continue
        value = getattr(model, name)
        key = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            _flatten(value, f"{key}.", out)
        elif value is not None:
            out[key] = value


def flatten_values(values: BaseModel) -> dict[str, Scalar]:
    """Non-null scalar fields of a values model keyed by dotted path (lists excluded)."""
    out: dict[str, Scalar] = {}
    _flatten(values, "", out)
    return out


def _wrap(
    flat: dict[str, Scalar],
    provenance: dict[str, Provenance] | None,
    confidence: dict[str, float] | None,
    prefix: str,
) -> Row:
    return {
        key: FieldValue(
            value=value,
            provenance=(provenance or {}).get(prefix + key),
            confidence=(confidence or {}).get(prefix + key),
        )
        for key, value in flat.items()
    }


def values_to_record(
    doc_type: DocType,
    values: BaseModel,
    *,
    pages: list[int] | None = None,
    provenance: dict[str, Provenance] | None = None,
    confidence: dict[str, float] | None = None,
) -> Record:
    """Wrap a values model in the envelope.

    ``provenance`` and ``confidence`` are keyed like the envelope: ``shipper.name`` for a
    field, ``line_items[2].amount`` or ``containers[0].seal`` for a row's field.
    """
    if not isinstance(values, values_model_for(doc_type)):
        raise TypeError(f"{type(values).__name__} is not the values model of {doc_type}")
    rows: dict[str, list[Row]] = {}
    for list_name in _LIST_FIELDS:
        items = getattr(values, list_name, [])
        rows[list_name] = [
            _wrap(flatten_values(item), provenance, confidence, f"{list_name}[{i}].")
            for i, item in enumerate(items)
        ]
    return Record(
        doc_type=doc_type,
        pages=list(pages or []),
        fields=_wrap(flatten_values(values), provenance, confidence, ""),
        line_items=rows["line_items"],
        containers=rows["containers"],
    )


def _unflatten(flat: dict[str, Scalar]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        head, _, tail = key.partition(".")
        if tail:
            nested.setdefault(head, {})[tail] = value
        else:
            nested[head] = value
    return nested


def record_to_values(record: Record) -> BaseModel:
    """The values model of a record (provenance and confidence dropped; unknown keys ignored)."""
    data = _unflatten({k: v.value for k, v in record.fields.items()})
    for list_name in _LIST_FIELDS:
        data[list_name] = [
            _unflatten({k: v.value for k, v in row.items()}) for row in getattr(record, list_name)
        ]
    model = values_model_for(record.doc_type)
    if "containers" not in model.model_fields:
        data.pop("containers")
    return model.model_validate(data)
