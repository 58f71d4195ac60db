"""Records as export rows: read in batches from a server-side cursor, corrections applied.

Nothing here holds more than one batch of records: ``iter_records`` reads with
``yield_per`` (a server-side cursor on PostgreSQL, incremental fetches on SQLite) inside
one transaction, so an export is a consistent snapshot; a finished batch is garbage
(the session's identity map holds its objects weakly).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, String, cast, select

from core.db import session_scope
from core.models import Document, Record, RecordReview
from core.records import DOC_TYPES, DocType, values_model_for

Per = Literal["record", "line_item"]
BATCH = 500
ORIGINAL_SUFFIX = "__original"
# The field that names the document, per type: the key a line item row is found by.
NUMBER_FIELD: dict[str, str] = {
    "bill_of_lading": "bl_number",
    "commercial_invoice": "invoice_number",
    "packing_list": "packing_list_number",
    "customs_declaration": "declaration_number",
}
RECORD_COLUMNS = [
    "record_id",
    "document_id",
    "filename",
    "doc_type",
    "status",
    "review_state",
    "created_at",
    "corrected_fields",
]


class ExportQuery(BaseModel):
    """Which records an export holds and how it is shaped; the same for CLI, API and web."""

    since: datetime | None = Field(default=None, description="records created at or after")
    until: datetime | None = Field(default=None, description="records created before")
    doc_types: list[str] = Field(default_factory=list)
    statuses: list[str] = Field(default_factory=list)
    document_id: int | None = None
    q: str | None = Field(default=None, description="text anywhere in the record's fields")
    per: Per = "record"


class ExportRecord(BaseModel):
    """One record ready to write: the corrected view and the originals of corrected fields."""

    record_id: int
    document_id: int
    filename: str
    doc_type: str
    status: str
    review_state: str
    created_at: datetime
    data: dict[str, Any]  # with every reviewer correction applied
    original: dict[str, Any]  # field path -> value as extracted, for corrected paths only


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_text(q: str) -> ColumnElement[bool]:
    """Records whose fields hold ``q`` (case-insensitive; ``%`` and ``_`` are literal): the
    text search of the records API, the web table and exports."""
    pattern = f"%{_escape_like(q.strip())}%"
    return cast(Record.data, String).ilike(pattern, escape="\\")


def query_statement(query: ExportQuery) -> Select[tuple[Record, str]]:
    stmt = select(Record, Document.filename).join(Document, Document.id == Record.document_id)
    if query.doc_types:
        stmt = stmt.where(Record.doc_type.in_(query.doc_types))
    if query.statuses:
        stmt = stmt.where(Record.status.in_(query.statuses))
    if query.document_id is not None:
        stmt = stmt.where(Record.document_id == query.document_id)
    if query.since is not None:
        stmt = stmt.where(Record.created_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(Record.created_at < query.until)
    if query.q:
        stmt = stmt.where(contains_text(query.q))
    return stmt.order_by(Record.id)


def export_record(record: Record, filename: str, reviews: list[RecordReview]) -> ExportRecord:
    """The record as the API shows it: the corrections in force applied (not stale ones,
    made against a value a re-extraction has since changed)."""
    from app.api.corrections import apply_corrections, corrections_in_force, current_value
    from app.api.records import review_state

    data = record.data or {}
    corrections, _stale = corrections_in_force(data, ((r.original, r.corrected) for r in reviews))
    return ExportRecord(
        record_id=record.id,
        document_id=record.document_id,
        filename=filename,
        doc_type=record.doc_type,
        status=record.status,
        review_state=review_state(reviews),
        created_at=record.created_at,
        data=apply_corrections(data, corrections) if corrections else data,
        original={path: current_value(data, path) for path in corrections},
    )


def iter_records(
    database_url: str, query: ExportQuery, batch: int = BATCH
) -> Iterator[ExportRecord]:
    """Matching records in id order, ``batch`` at a time from a server-side cursor."""
    from app.api.records import reviews_of

    with session_scope(database_url) as session:
        result = session.execute(query_statement(query).execution_options(yield_per=batch))
        for part in result.partitions():
            rows = [(row[0], row[1]) for row in part]
            reviews = reviews_of(session, [r.id for r, _ in rows])
            for record, filename in rows:
                yield export_record(record, filename, reviews[record.id])
            # The session's identity map holds objects weakly: a finished batch is freed.
            del rows, reviews


# --- columns ------------------------------------------------------------------------------


def _model_of(annotation: Any) -> type[BaseModel] | None:
    candidates = (
        typing.get_args(annotation)
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union
        else (annotation,)
    )
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def scalar_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted paths of a values model's scalar fields (nested models flattened, lists left out)."""
    paths: list[str] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if typing.get_origin(annotation) is list:
            continue
        nested = _model_of(annotation)
        if nested is not None:
            paths.extend(scalar_paths(nested, f"{prefix}{name}."))
        else:
            paths.append(f"{prefix}{name}")
    return paths


def _line_model(doc_type: DocType) -> type[BaseModel]:
    annotation = values_model_for(doc_type).model_fields["line_items"].annotation
    (item,) = typing.get_args(annotation)
    assert isinstance(item, type) and issubclass(item, BaseModel)
    return item


def _types(query: ExportQuery) -> list[DocType]:
    return [t for t in DOC_TYPES if not query.doc_types or t in query.doc_types]


def field_paths(query: ExportQuery) -> list[str]:
    """The value columns of an export (without the ``__original`` twins), in a fixed order."""
    seen: dict[str, None] = {}
    for doc_type in _types(query):
        if query.per == "record":
            fields = scalar_paths(values_model_for(doc_type))
        else:
            fields = scalar_paths(_line_model(doc_type))
        seen.update(dict.fromkeys(fields))
    return list(seen)


def header(query: ExportQuery) -> list[str]:
    fields = field_paths(query)
    pairs = [c for f in fields for c in (f, f + ORIGINAL_SUFFIX)]
    if query.per == "record":
        return [*RECORD_COLUMNS, *pairs, "line_item_count", "containers"]
    return [*RECORD_COLUMNS, "document_number", "line_no", *pairs]


def _base(rec: ExportRecord) -> list[Any]:
    return [
        rec.record_id,
        rec.document_id,
        rec.filename,
        rec.doc_type,
        rec.status,
        rec.review_state,
        rec.created_at.isoformat(),
        " ".join(sorted(rec.original)),
    ]


def current_value(data: dict[str, Any], path: str) -> Any:
    # Imported on use: app.api's package imports the export route, which imports this module.
    from app.api.corrections import current_value as value_at

    return value_at(data, path)


def flat_values(data: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Scalar values of a record (or a line item) by dotted path; lists left out.

    Reads both shapes a record's data may have: the nested values model, and the envelope
    (``fields`` keyed by dotted path, values wrapped as ``{"value": ...}``).
    """
    out = {} if out is None else out
    if not isinstance(data, dict):
        return out
    if not prefix and isinstance(data.get("fields"), dict):
        for key, value in data["fields"].items():
            out[key] = value.get("value") if isinstance(value, dict) else value
        return out
    for key, value in data.items():
        if isinstance(value, dict) and "value" in value:  # an envelope field
            out[prefix + key] = value["value"]
        elif isinstance(value, dict):
            flat_values(value, f"{prefix}{key}.", out)
        elif not isinstance(value, list):
            out[prefix + key] = value
    return out


def _pairs(
    flat: dict[str, Any], original: dict[str, Any], fields: list[str], prefix: str
) -> list[Any]:
    out: list[Any] = []
    for field in fields:
        out.append(flat.get(field))
        out.append(original.get(prefix + field))
    return out


def _number(rec: ExportRecord) -> Any:
    field = NUMBER_FIELD.get(rec.doc_type)
    return current_value(rec.data, field) if field else None


def table_rows(rec: ExportRecord, fields: list[str], per: Per) -> Iterator[list[Any]]:
    """The flat rows of one record: one row, or one per line item (none if it has none)."""
    base = _base(rec)
    items = rec.data.get("line_items") or []
    if per == "record":
        values = _pairs(flat_values(rec.data), rec.original, fields, "")
        containers = " ".join(
            str(c.get("number")) for c in rec.data.get("containers") or [] if isinstance(c, dict)
        )
        yield [*base, *values, len(items), containers]
        return
    number = _number(rec)
    for i, item in enumerate(items):
        values = _pairs(flat_values(item), rec.original, fields, f"line_items[{i}].")
        yield [*base, number, i + 1, *values]


def json_rows(rec: ExportRecord, per: Per) -> Iterator[dict[str, Any]]:
    """The JSON objects of one record: the record, or one per line item."""
    meta: dict[str, Any] = {
        "record_id": rec.record_id,
        "document_id": rec.document_id,
        "filename": rec.filename,
        "doc_type": rec.doc_type,
        "status": rec.status,
        "review_state": rec.review_state,
        "created_at": rec.created_at.isoformat(),
    }
    if per == "record":
        yield {**meta, "data": rec.data, "original": rec.original}
        return
    number = _number(rec)
    for i, item in enumerate(rec.data.get("line_items") or []):
        prefix = f"line_items[{i}]."
        original = {k[len(prefix) :]: v for k, v in rec.original.items() if k.startswith(prefix)}
        yield {
            **meta,
            "document_number": number,
            "line_no": i + 1,
            "item": item,
            "original": original,
        }
