"""Streamed exports of records: CSV, JSON Lines, XLSX; one row per record or per line item.

The one function callers need (the CLI, the API, the web dashboard)::

    from app.export import ExportQuery, export_stream
    for chunk in export_stream(database_url, ExportQuery(doc_types=["commercial_invoice"]),
                               "csv"):
        out.write(chunk)

Each row carries the value a reviewer corrected (when one did) and, beside it in
``<field>__original`` (CSV/XLSX) or ``original`` (JSONL), the value as extracted. Records
are read from a server-side cursor in batches and written as they come: memory does not
grow with the number of records.
"""

from __future__ import annotations

from collections.abc import Iterator

from app.export.rows import (
    ExportQuery,
    ExportRecord,
    Per,
    field_paths,
    header,
    iter_records,
    json_rows,
    table_rows,
)
from app.export.writers import FORMATS, MEDIA_TYPES, Format, csv_chunks, jsonl_chunks, xlsx_chunks

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "ExportQuery",
    "ExportRecord",
    "Format",
    "Per",
    "export_filename",
    "export_stream",
]


def export_stream(database_url: str, query: ExportQuery, fmt: Format) -> Iterator[bytes]:
    """The export as byte chunks, produced lazily while the caller consumes them."""
    records = iter_records(database_url, query)
    if fmt == "jsonl":
        return jsonl_chunks(obj for rec in records for obj in json_rows(rec, query.per))
    fields = field_paths(query)
    rows = (row for rec in records for row in table_rows(rec, fields, query.per))
    if fmt == "csv":
        return csv_chunks(header(query), rows)
    if fmt == "xlsx":
        return xlsx_chunks(header(query), rows)
    raise ValueError(f"unknown export format {fmt!r}; expected one of {FORMATS}")


def export_filename(query: ExportQuery, fmt: Format) -> str:
    kind = "-".join(query.doc_types) if query.doc_types else "records"
    suffix = "-line-items" if query.per == "line_item" else ""
    return f"shipdoc-{kind}{suffix}.{fmt}"
