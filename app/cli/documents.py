"""``shipdoc ingest``, ``shipdoc parse`` and ``shipdoc documents``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from sqlalchemy import select

from app.cli.terminal import safe
from app.progress import ProgressDisplay
from core.db import session_scope
from core.errors import FileTooLarge, InputError, NotFound
from core.migrate import ensure_current
from core.models import Document, DocumentStatus
from core.settings import get_settings
from tools.intake import IngestResult, ingest_path
from tools.localfile import read_document
from tools.parse import parse_bytes

documents_app = typer.Typer(help="List and inspect stored documents.", no_args_is_help=True)

# Checked by intake, not by click: a missing file, a directory, a FIFO or a device gets one
# line and exit 2 (click's checks print a usage box, and pass a FIFO through to block).
FILES = typer.Argument(..., help="files to read")


def ingest_cmd(
    files: list[Path] = FILES,
    as_json: bool = typer.Option(False, "--json", help="print JSON Lines"),
    parse: bool = typer.Option(True, "--parse/--no-parse", help="parse now (default) or later"),
) -> None:
    """Store FILES (deduplicated by content) and parse them. Exit 2 if any was rejected."""
    rejected = 0
    with ProgressDisplay(quiet=as_json):
        for path in files:
            try:
                result = ingest_path(path, parse=parse)
            except InputError as exc:
                rejected += 1
                typer.echo(f"{path}: rejected ({exc})", err=True)
                continue
            rejected += result.status == DocumentStatus.REJECTED
            typer.echo(result.model_dump_json() if as_json else _ingest_line(result))
    if rejected:
        raise typer.Exit(2)


def _ingest_line(r: IngestResult) -> str:
    seen = "new" if r.created else "existing"
    if r.status == DocumentStatus.REJECTED:
        return f"{r.document_id}\trejected\t{r.filename}\t{r.error_code}: {r.error_message}"
    line = f"{r.document_id}\t{r.status}\t{r.filename}\t{r.page_count or 0} pages, {seen}"
    for err in r.page_errors:
        line += f"\n\tpage {err['page']} failed: {err['code']}: {err['message']}"
    return line


def parse_cmd(
    file: Path = typer.Argument(..., help="a PDF, PNG, JPEG or TIFF file"),
    as_json: bool = typer.Option(False, "--json", help="print the ParsedDocument as JSON"),
) -> None:
    """Parse FILE and print its pages (no database needed)."""
    settings = get_settings()
    data = read_document(file, settings.limits.max_file_bytes)
    if data is None:
        raise FileTooLarge(f"{file} is over the limit of {settings.limits.max_file_bytes} bytes")
    with ProgressDisplay(quiet=as_json):
        parsed = parse_bytes(data, limits=settings.limits, ocr=settings.ocr)
    if as_json:
        typer.echo(parsed.model_dump_json(indent=2))
        return
    typer.echo(f"{file.name}: {parsed.media_type}, {parsed.page_count} pages")
    for page in parsed.pages:
        conf = f", confidence {page.confidence:.0f}" if page.confidence is not None else ""
        rot = f", turned {page.rotation}°" if page.rotation else ""
        typer.echo(f"--- page {page.number} ({page.method}{conf}{rot}, {len(page.words)} words)")
        typer.echo(page.error.message if page.error else page.text.strip())


@documents_app.command("list")
def list_cmd(
    status: str | None = typer.Option(None, help="only documents with this status"),
    limit: int = typer.Option(50, min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List documents, newest first."""
    settings = get_settings()
    ensure_current(settings.database_url)
    with session_scope(settings.database_url) as session:
        stmt = select(Document).order_by(Document.id.desc()).limit(limit)
        if status:
            stmt = stmt.where(Document.status == status)
        docs = session.scalars(stmt).all()
        for d in docs:
            row = {
                "id": d.id,
                "status": d.status,
                "filename": d.filename,
                "media_type": d.media_type,
                "pages": d.page_count,
                "error_code": d.error_code,
                "created_at": d.created_at.isoformat(),
            }
            if as_json:
                typer.echo(json.dumps(row))
            else:
                err = f"\t{d.error_code}" if d.error_code else ""
                name = safe(d.filename)
                typer.echo(f"{d.id}\t{d.status}\t{d.page_count or 0}p\t{name}{err}")


@documents_app.command("show")
def show_cmd(
    document_id: int = typer.Argument(..., metavar="ID"),
    as_json: bool = typer.Option(False, "--json"),
    text: bool = typer.Option(False, "--text", help="print each page's text"),
) -> None:
    """Show one document: outcome, errors and pages."""
    settings = get_settings()
    ensure_current(settings.database_url)
    with session_scope(settings.database_url) as session:
        doc = session.get(Document, document_id)
        if doc is None:
            raise NotFound(f"no document with id {document_id}")
        info = {
            "id": doc.id,
            "sha256": doc.sha256,
            "filename": doc.filename,
            "media_type": doc.media_type,
            "size_bytes": doc.size_bytes,
            "status": doc.status,
            "error_code": doc.error_code,
            "error_message": doc.error_message,
            "page_errors": doc.page_errors,
        }
        pages = [
            {
                "number": p.number,
                "method": p.method,
                "confidence": p.ocr_confidence,
                "rotation": p.rotation,
                "words": len(p.words),
                **({"text": p.text} if text or as_json else {}),
            }
            for p in doc.pages
        ]
    if as_json:
        typer.echo(json.dumps({**info, "pages": pages}, indent=2))
        return
    for key in ("id", "filename", "media_type", "size_bytes", "status", "error_code"):
        if info[key] is not None:
            typer.echo(f"{key}: {safe(str(info[key]))}")
    if info["error_message"]:
        typer.echo(f"error: {safe(str(info['error_message']))}")
    for page in pages:
        typer.echo(f"page {page['number']}: {page['method']}, {page['words']} words")
        if text:
            typer.echo(page["text"])
