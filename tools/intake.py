"""Document intake: store the bytes once, record the document, parse it, store its pages.

The sha256 of the bytes identifies a document. The same bytes ingested twice, also by two
processes at once, give one row and one id: the insert is ``ON CONFLICT DO NOTHING`` on the
unique sha256, and only the process that moves the row from ``received`` to ``parsing``
parses it.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import CursorResult, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core import metrics, telemetry
from core.blobs import BlobStore
from core.db import session_scope
from core.errors import FileTooLarge, InputError, NotFound
from core.events import EventType, document_payload, emit_event
from core.migrate import ensure_current
from core.models import Document, DocumentStatus, Page, utcnow
from core.settings import Settings, get_settings
from tools.localfile import open_regular, read_capped, sha256_and_size
from tools.parse import ParsedDocument, detect_media_type, parse_bytes

log = logging.getLogger(__name__)


class IngestResult(BaseModel):
    document_id: int
    sha256: str
    filename: str
    created: bool
    status: str
    media_type: str | None = None
    page_count: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    page_errors: list[dict[str, object]] = []


def ingest_path(
    path: Path, *, settings: Settings | None = None, parse: bool = True
) -> IngestResult:
    """Ingest a regular file from disk (``InputError`` for a missing file, a directory, a
    FIFO or a device); an oversized file is rejected without being held in memory."""
    settings = settings or get_settings()
    with open_regular(path) as fh:
        data = read_capped(fh, settings.limits.max_file_bytes)
        if data is None:
            digest, size = sha256_and_size(fh)
            ensure_current(settings.database_url)
            return _reject_too_large(digest, path.name, size, settings)
    return ingest(data, path.name, settings=settings, parse=parse)


def ingest(
    data: bytes, filename: str, *, settings: Settings | None = None, parse: bool = True
) -> IngestResult:
    """Store ``data`` as a document (or find it) and, if asked, parse it now."""
    settings = settings or get_settings()
    ensure_current(settings.database_url)
    digest = hashlib.sha256(data).hexdigest()
    if len(data) > settings.limits.max_file_bytes:
        return _reject_too_large(digest, filename, len(data), settings)
    # The blob goes first: a row never points at bytes we do not have.
    BlobStore(settings.blobs).put(data)
    with session_scope(settings.database_url) as session:
        created = _insert_if_new(session, digest, filename, len(data))
        doc_id = session.scalars(select(Document.id).where(Document.sha256 == digest)).one()
    if parse:
        parse_document(doc_id, settings=settings, data=data)
    return _result(doc_id, created, settings)


def parse_document(
    document_id: int, *, settings: Settings | None = None, data: bytes | None = None
) -> IngestResult:
    """Parse a received document and store its pages; a no-op for one already claimed."""
    settings = settings or get_settings()
    with session_scope(settings.database_url) as session:
        claim = update(Document).where(
            Document.id == document_id, Document.status == DocumentStatus.RECEIVED
        )
        claimed = _rowcount(
            session, claim.values(status=DocumentStatus.PARSING, updated_at=utcnow())
        )
        sha = session.scalars(select(Document.sha256).where(Document.id == document_id)).first()
    if sha is None:
        raise NotFound(f"no document with id {document_id}")
    if claimed:
        data = data if data is not None else BlobStore(settings.blobs).get(sha)
        attributes = {"shipdoc.document_id": document_id, "shipdoc.size_bytes": len(data)}
        try:
            with (
                telemetry.span("shipdoc.parse", attributes) as span,
                metrics.timed("parse"),
            ):
                media_type = detect_media_type(data)
                span.set_attribute("shipdoc.media_type", media_type)
                parsed = parse_bytes(data, limits=settings.limits, ocr=settings.ocr)
                span.set_attribute("shipdoc.pages", parsed.page_count)
        except InputError as exc:
            _store_rejection(document_id, exc, settings)
        except BaseException:
            # Our own failure (e.g. Tesseract missing): hand the document back so a later
            # attempt can claim it, and let the caller see the error.
            _release(document_id, settings)
            raise
        else:
            _store_pages(document_id, media_type, parsed, settings)
    return _result(document_id, False, settings)


def clean_filename(name: str) -> str:
    """The name as stored: without control characters (a NUL cannot be stored in
    PostgreSQL text, and none belongs in a file name) or lone surrogates, at most 512."""
    kept = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cs"))
    return kept.strip()[:512] or "upload"


def _insert_if_new(session: Session, digest: str, filename: str, size: int) -> bool:
    values = {
        "sha256": digest,
        "filename": clean_filename(filename),
        "size_bytes": size,
        "status": DocumentStatus.RECEIVED.value,
        "page_errors": [],
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(Document)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["sha256"])
        .returning(Document.id)
    )
    # A row comes back only when this statement inserted it (rowcount is not reliable here:
    # PostgreSQL reports the implicit RETURNING of the primary key).
    return session.execute(stmt).first() is not None


def _rowcount(session: Session, stmt: Any) -> int:
    return cast(CursorResult[Any], session.execute(stmt)).rowcount


def _reject_too_large(digest: str, filename: str, size: int, settings: Settings) -> IngestResult:
    """Record an oversized file as rejected; its bytes are not kept."""
    limit = settings.limits.max_file_bytes
    error = FileTooLarge(f"{size} bytes is over the limit of {limit} bytes")
    with session_scope(settings.database_url) as session:
        created = _insert_if_new(session, digest, filename, size)
        doc_id = session.scalars(select(Document.id).where(Document.sha256 == digest)).one()
    if created:
        _store_rejection(doc_id, error, settings)
    return _result(doc_id, created, settings)


def _store_rejection(document_id: int, error: InputError, settings: Settings) -> None:
    log.info("document %s rejected: %s", document_id, error)
    with session_scope(settings.database_url) as session:
        doc = session.get_one(Document, document_id)
        doc.status = DocumentStatus.REJECTED
        doc.error_code = error.code
        doc.error_message = error.message
        _emit_rejected(session, doc)


def _emit_rejected(session: Session, doc: Document) -> None:
    session.flush()
    emit_event(session, EventType.DOCUMENT_REJECTED, document_payload(doc), document_id=doc.id)


def _release(document_id: int, settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        session.execute(
            update(Document)
            .where(Document.id == document_id, Document.status == DocumentStatus.PARSING)
            .values(status=DocumentStatus.RECEIVED)
        )


def _store_pages(
    document_id: int, media_type: str, parsed: ParsedDocument, settings: Settings
) -> None:
    with session_scope(settings.database_url) as session:
        doc = session.get_one(Document, document_id)
        doc.media_type = media_type
        doc.page_count = parsed.page_count
        doc.page_errors = [
            {"page": p.number, "code": p.error.code, "message": p.error.message}
            for p in parsed.pages
            if p.error is not None
        ]
        for page in parsed.pages:
            session.add(
                Page(
                    document_id=document_id,
                    number=page.number,
                    method=page.method,
                    text=page.text,
                    width=page.width,
                    height=page.height,
                    rotation=page.rotation,
                    ocr_confidence=page.confidence,
                    words=[w.as_dict() for w in page.words],
                    error_code=page.error.code if page.error else None,
                    error_message=page.error.message if page.error else None,
                )
            )
        if parsed.pages and len(parsed.failed_pages) == len(parsed.pages):
            doc.status = DocumentStatus.REJECTED
            doc.error_code = "all_pages_failed"
            doc.error_message = "no page of the document could be read"
            _emit_rejected(session, doc)
        else:
            doc.status = DocumentStatus.PARSED


def _result(document_id: int, created: bool, settings: Settings) -> IngestResult:
    with session_scope(settings.database_url) as session:
        doc = session.get(Document, document_id)
        if doc is None:
            raise NotFound(f"no document with id {document_id}")
        return IngestResult(
            document_id=doc.id,
            sha256=doc.sha256,
            filename=doc.filename,
            created=created,
            status=doc.status,
            media_type=doc.media_type,
            page_count=doc.page_count,
            error_code=doc.error_code,
            error_message=doc.error_message,
            page_errors=list(doc.page_errors or []),
        )
