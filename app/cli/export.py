"""``shipdoc export``: records as CSV, JSON Lines or XLSX, streamed to a file or stdout."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from app.export import FORMATS, ExportQuery, Format, export_stream
from app.periods import parse_moment
from core.errors import InputError
from core.migrate import ensure_current
from core.records import DOC_TYPES
from core.settings import get_settings

TYPE_HELP = f"document type, repeatable: {', '.join(DOC_TYPES)}"


def export_cmd(
    format: str = typer.Option("csv", "--format", "-f", help="csv, jsonl or xlsx"),
    since: str = typer.Option(None, help="records created at or after (ISO date/datetime, UTC)"),
    until: str = typer.Option(None, help="records created before (ISO date/datetime, UTC)"),
    doc_type: list[str] = typer.Option(None, "--type", "-t", help=TYPE_HELP),
    status: list[str] = typer.Option(
        None, help="record status, repeatable: extracted, needs_review, failed"
    ),
    per: str = typer.Option("record", help="record (one row each) or line-item"),
    output: Path = typer.Option(None, "--output", "-o", help="file to write (default: stdout)"),
) -> None:
    """Export records, with reviewers' corrections and the extracted value beside each."""
    if format not in FORMATS:
        raise InputError(f"--format {format!r}: expected one of {', '.join(FORMATS)}")
    if per not in ("record", "line-item", "line_item"):
        raise InputError(f"--per {per!r}: expected record or line-item")
    unknown = sorted(set(doc_type or []) - set(DOC_TYPES))
    if unknown:
        raise InputError(f"unknown --type {unknown}; expected some of {', '.join(DOC_TYPES)}")
    if format == "xlsx" and output is None and sys.stdout.isatty():
        raise InputError("an xlsx export is binary: give --output FILE or redirect stdout")
    settings = get_settings()
    ensure_current(settings.database_url)
    query = ExportQuery(
        since=parse_moment(since, "--since"),
        until=parse_moment(until, "--until"),
        doc_types=list(doc_type or []),
        statuses=list(status or []),
        per="record" if per == "record" else "line_item",
    )
    fmt: Format = format
    chunks = export_stream(settings.database_url, query, fmt)
    if output is None:
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    with output.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
    typer.echo(f"wrote {output}", err=True)
