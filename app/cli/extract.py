"""``shipdoc extract FILE...``: ingest, parse, run the extraction agent and print the records."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from agent.models import build_model
from agent.models.base import ChatModel
from agent.pipeline import ExtractionOutcome, RecordOut, extract_file
from agent.prompting import prompt_version
from app.progress import ProgressDisplay
from core.errors import InputError
from core.settings import get_settings
from tools.intake import IngestResult

EXIT_BAD_INPUT = 2

# Checked by intake, not by click: a missing file, a directory, a FIFO or a device gets one
# line and exit 2 (click's checks print a usage box, and pass a FIFO through to block).
FILES = typer.Argument(..., help="files to extract")


def extract_cmd(
    files: list[Path] = FILES,
    as_json: bool = typer.Option(
        False,
        "--json",
        help="print JSON Lines: one line per record with document id, doc type, status, "
        "record (values with provenance and confidence), issues and usage",
    ),
    force: bool = typer.Option(False, "--force", help="run again on documents already done"),
) -> None:
    """Extract structured records from FILES with the configured model (default: local).

    Each file is stored (deduplicated by content), parsed, classified and extracted in this
    process; records are written to the database. Exit 2 if any file was rejected.
    """
    settings = get_settings()
    prompt_version()  # refuses to start without the prompt templates
    model: ChatModel | None = None
    rejected = 0
    with ProgressDisplay(quiet=as_json):
        for path in files:
            model = model or build_model(settings)
            try:
                ingested, outcome = extract_file(path, settings=settings, model=model, force=force)
            except InputError as exc:
                rejected += 1
                _print_unread(path, exc, as_json)
                continue
            if outcome is None:
                rejected += 1
                _print_rejected(path, ingested, as_json)
                continue
            _print_outcome(path, outcome, as_json)
    if rejected:
        sys.exit(EXIT_BAD_INPUT)


def _print_unread(path: Path, exc: InputError, as_json: bool) -> None:
    """A file that could not be read at all (missing, a directory, a FIFO, a device)."""
    if as_json:
        line = {
            "file": str(path),
            "document_id": None,
            "doc_type": None,
            "status": "rejected",
            "record": None,
            "issues": [{"code": exc.code, "message": exc.message}],
            "usage": None,
        }
        typer.echo(json.dumps(line, ensure_ascii=False))
    else:
        typer.echo(f"{path}: rejected ({exc})", err=True)


def _print_rejected(path: Path, result: IngestResult, as_json: bool) -> None:
    if as_json:
        line = {
            "file": str(path),
            "document_id": result.document_id,
            "doc_type": None,
            "status": "rejected",
            "record": None,
            "issues": [{"code": result.error_code, "message": result.error_message}],
            "usage": None,
        }
        typer.echo(json.dumps(line, ensure_ascii=False))
    else:
        typer.echo(f"{path}: rejected ({result.error_code}: {result.error_message})")


def json_lines(path: Path, outcome: ExtractionOutcome) -> list[dict[str, Any]]:
    usage = outcome.usage.model_dump()
    return [
        {
            "file": str(path),
            "document_id": outcome.document_id,
            "pages": rec.pages,
            "doc_type": rec.doc_type,
            "status": rec.status,
            "record": rec.envelope().model_dump(mode="json"),
            "issues": rec.issues,
            "usage": usage,
        }
        for rec in outcome.records
    ]


def _print_outcome(path: Path, outcome: ExtractionOutcome, as_json: bool) -> None:
    if as_json:
        for line in json_lines(path, outcome):
            typer.echo(json.dumps(line, ensure_ascii=False))
        return
    typer.echo(render_outcome(path, outcome))


def render_outcome(path: Path, outcome: ExtractionOutcome) -> str:
    """The human-readable form: one header line, then each record's values and issues."""
    u = outcome.usage
    done = "already extracted" if outcome.skipped else f"{u.latency_s:.1f} s"
    head = (
        f"{path}: document {outcome.document_id}, {outcome.status} "
        f"({u.requests} model requests, {u.prompt_tokens}+{u.completion_tokens} tokens, {done})"
    )
    return "\n".join([head, *(_record_text(rec) for rec in outcome.records)])


def _scalar_lines(data: dict[str, Any], prefix: str = "") -> list[str]:
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines += _scalar_lines(value, f"{prefix}{key}.")
        elif value is not None and not isinstance(value, list):
            lines.append(f"    {prefix}{key}: {value}")
    return lines


def _row_text(row: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in row.items() if v is not None)


def _record_text(rec: RecordOut) -> str:
    pages = f"{rec.pages[0]}-{rec.pages[-1]}" if len(rec.pages) > 1 else str(rec.pages[0])
    out = [f"  {rec.doc_type} (pages {pages}): {rec.status}"]
    out += _scalar_lines(rec.record)
    for name in ("containers", "line_items"):
        rows = rec.record.get(name) or []
        if rows:
            out.append(f"    {name}:")
            out += [f"      {i + 1}. {_row_text(row)}" for i, row in enumerate(rows)]
    if rec.issues:
        out.append("    issues:")
        out += [f"      - {i.get('field') or '-'}: {i.get('message')}" for i in rec.issues]
    return "\n".join(out)
