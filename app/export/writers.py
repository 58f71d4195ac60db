"""Streamed writers: CSV, JSON Lines and XLSX as an iterator of byte chunks.

CSV and JSONL go out as they are produced, in chunks of about ``CHUNK`` bytes. An XLSX file
is a zip whose directory comes last, so it cannot be sent before it is finished; it is
written with xlsxwriter's ``constant_memory`` mode (one row in memory at a time, rows
flushed to a temporary file) and then streamed from that file. Memory stays flat for all
three; only XLSX needs disk, about the size of the result.

Text read from documents is untrusted: a CSV cell that starts with ``=``, ``+``, ``-``,
``@``, tab or carriage return would be a formula in a spreadsheet, so such strings get a
leading apostrophe (the OWASP advice); XLSX cells are written as strings, never formulas.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import xlsxwriter

Format = Literal["csv", "jsonl", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl", "xlsx")
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK = 64 * 1024
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def csv_chunks(header: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def jsonl_chunks(objects: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    parts: list[str] = []
    size = 0
    for obj in objects:
        line = json.dumps(obj, ensure_ascii=False, default=str) + "\n"
        parts.append(line)
        size += len(line)
        if size >= CHUNK:
            yield "".join(parts).encode("utf-8")
            parts, size = [], 0
    yield "".join(parts).encode("utf-8")


def xlsx_chunks(
    header: list[str], rows: Iterable[list[Any]], *, sheet: str = "records"
) -> Iterator[bytes]:
    fd, path = tempfile.mkstemp(prefix="shipdoc-export-", suffix=".xlsx")
    os.close(fd)
    try:
        workbook = xlsxwriter.Workbook(
            path, {"constant_memory": True, "strings_to_formulas": False}
        )
        worksheet = workbook.add_worksheet(sheet)
        bold = workbook.add_format({"bold": True})
        for col, name in enumerate(header):
            worksheet.write_string(0, col, name, bold)
        for r, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                _xlsx_write(worksheet, r, col, value)
        workbook.close()
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def _xlsx_write(worksheet: Any, row: int, col: int, value: Any) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        worksheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        worksheet.write_number(row, col, value)
    elif isinstance(value, dict | list):
        worksheet.write_string(row, col, json.dumps(value, ensure_ascii=False))
    else:
        worksheet.write_string(row, col, str(value))
