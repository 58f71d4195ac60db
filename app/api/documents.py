"""Documents: upload (queued for processing), status, list (e.g. failed ones), the file."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from app.api.deps import Admin, DbId, MaxOffset, Reader, State, Uploader, rate_limit
from app.api.errors import ApiError, from_shipdoc
from app.api.upload_stream import SpooledFile, read_files, spooled_files
from core.blobs import BlobStore
from core.db import session_scope
from core.errors import EmptyFile, InputError
from core.models import Document, Job, Page, Record
from core.settings import Settings
from tools.intake import ingest
from tools.parse import detect_media_type
from workers import jobs
from workers.celery_app import EXTRACT_QUEUE
from workers.processing import DOCUMENT_KIND
from workers.reconcile import requeue_one

router = APIRouter(prefix="/v1/documents", tags=["documents"])


class UploadItem(BaseModel):
    document_id: int
    filename: str
    sha256: str
    status: str
    duplicate: bool


class UploadResponse(BaseModel):
    documents: list[UploadItem]


class PageOut(BaseModel):
    number: int
    method: str
    chars: int
    ocr_confidence: float | None
    error_code: str | None
    error_message: str | None


class JobOut(BaseModel):
    state: str
    attempts: int
    error_code: str | None
    error_message: str | None
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class DocumentOut(BaseModel):
    id: int
    filename: str
    sha256: str
    media_type: str | None
    size_bytes: int
    page_count: int | None
    status: str
    error_code: str | None
    error_message: str | None
    page_errors: list[Any]
    created_at: datetime
    updated_at: datetime
    record_ids: list[int] = []
    pages: list[PageOut] = []
    job: JobOut | None = None


class DocumentList(BaseModel):
    items: list[DocumentOut]
    total: int
    limit: int
    offset: int


def _checked(item: SpooledFile, settings: Settings) -> None:
    """The cheap checks (emptiness, type by its first bytes); typed errors."""
    if item.size == 0:
        raise EmptyFile(f"{item.name}: the file is empty")
    try:
        detect_media_type(item.head(8192))
    except InputError as exc:
        exc.message = f"{item.name}: {exc.message}"
        raise


# The request body of an upload, for the OpenAPI schema (the route reads it as a stream).
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "one or more documents",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=202,
    response_model=UploadResponse,
    responses={413: {}, 415: {}, 422: {}, 429: {}, 503: {}},
    openapi_extra=_UPLOAD_BODY,
)
async def upload(request: Request, state: State, principal: Uploader) -> JSONResponse:
    """Store the files and queue each new one; a file already stored returns its id.

    The key is checked before any byte of the body is read; sizes are enforced while the
    body streams in (app/api/upload_stream)."""
    settings = state.settings
    rate_limit(state, "upload", principal, settings.service.upload_rate_per_minute)
    await run_in_threadpool(refuse_when_backlogged, state)
    service = settings.service
    limit = settings.limits.max_file_bytes
    with spooled_files() as files:
        await read_files(
            request,
            files,
            field_name="files",
            max_file_bytes=limit,
            max_files=service.max_files_per_upload,
            max_body=service.max_files_per_upload * (limit + 64_000),
        )
        for item in files:
            try:
                _checked(item, settings)
            except InputError as exc:
                raise from_shipdoc(exc) from exc
        items = [
            await run_in_threadpool(_store_and_queue, state, item.name, item.read())
            for item in files
        ]
    status = 202 if any(not i.duplicate for i in items) else 200
    return JSONResponse(UploadResponse(documents=items).model_dump(mode="json"), status)


def refuse_when_backlogged(state: State) -> None:
    """429 with Retry-After while the extraction queue is deeper than configured."""
    limit = state.settings.reliability.max_queue_depth
    if limit <= 0:
        return
    depth = state.dispatcher.queue_depths().get(EXTRACT_QUEUE, 0)
    if depth >= limit:
        raise ApiError(
            429,
            "queue_full",
            f"{depth} documents are waiting for extraction (the limit is {limit}); retry later",
            headers={"Retry-After": str(BACKLOG_RETRY_AFTER_S)},
        )


# Seconds a backlogged uploader is asked to wait.
BACKLOG_RETRY_AFTER_S = 30


def _store_and_queue(state: State, name: str, data: bytes) -> UploadItem:
    settings = state.settings
    result = ingest(data, name, settings=settings, parse=False)
    url = settings.database_url
    key = jobs.document_key(result.document_id)
    job = jobs.ensure_job(url, key, DOCUMENT_KIND, result.document_id)
    # A duplicate whose job is stuck (its message lost, its worker gone) is queued again.
    stuck = not result.created and requeue_one(url, result.document_id, key)
    if job.state == "pending" or stuck:
        try:
            state.dispatcher.submit_document(result.document_id)
        except Exception as exc:
            raise ApiError(
                503,
                "queue_unavailable",
                f"document {result.document_id} is stored but could not be queued ({exc}); "
                "upload it again to queue it",
            ) from exc
        jobs.mark_queued(url, key)
    return UploadItem(
        document_id=result.document_id,
        filename=result.filename,
        sha256=result.sha256,
        status=result.status,
        duplicate=not result.created,
    )


@router.post("/{document_id}/retry", status_code=202, response_model=DocumentOut)
def retry(document_id: DbId, state: State, _principal: Admin) -> DocumentOut:
    """Queue a ``failed`` document again (after its cause is fixed), with fresh attempts, or
    one that is stuck (its job not final and not held by a live worker)."""
    url = state.settings.database_url
    key = jobs.document_key(document_id)
    if not jobs.reset_failed(url, document_id) and not requeue_one(url, document_id, key):
        raise ApiError(
            409,
            "not_failed",
            f"document {document_id} does not exist, has not failed, or is being processed",
        )
    try:
        state.dispatcher.submit_document(document_id)
    except Exception as exc:
        raise ApiError(503, "queue_unavailable", f"could not queue it ({exc})") from exc
    jobs.mark_queued(url, jobs.document_key(document_id))
    return get_document(document_id, state, _principal)


@router.get("", response_model=DocumentList)
def list_documents(
    state: State,
    _principal: Reader,
    status: Annotated[str | None, Query(description="e.g. failed, needs_review")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: MaxOffset = 0,
) -> DocumentList:
    """Documents, newest first; ``status=failed`` lists the ones that gave up, with errors."""
    with session_scope(state.settings.database_url) as session:
        stmt = select(Document)
        if status:
            stmt = stmt.where(Document.status == status)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.scalars(stmt.order_by(Document.id.desc()).limit(limit).offset(offset))
        items = [_document_out(session, d, detail=False) for d in rows]
    return DocumentList(items=items, total=total, limit=limit, offset=offset)


@router.get("/{document_id}", response_model=DocumentOut)
def get_document(document_id: DbId, state: State, _principal: Reader) -> DocumentOut:
    """Status, outcome, errors, pages and the processing job of one document."""
    with session_scope(state.settings.database_url) as session:
        doc = session.get(Document, document_id)
        if doc is None:
            raise ApiError(404, "not_found", f"no document with id {document_id}")
        return _document_out(session, doc, detail=True)


@router.get("/{document_id}/file", response_class=Response)
def get_file(document_id: DbId, state: State, _principal: Reader) -> Response:
    """The uploaded bytes as they were received."""
    settings = state.settings
    with session_scope(settings.database_url) as session:
        doc = session.get(Document, document_id)
        if doc is None:
            raise ApiError(404, "not_found", f"no document with id {document_id}")
        sha, name, media = doc.sha256, doc.filename, doc.media_type
    store = BlobStore(settings.blobs)
    if not store.exists(sha):
        raise ApiError(404, "not_found", f"the bytes of document {document_id} were not kept")
    return Response(
        store.get(sha),
        media_type=media or "application/octet-stream",
        headers={"Content-Disposition": content_disposition(name)},
    )


def content_disposition(name: str) -> str:
    """An attachment header for any file name: an ASCII fallback plus the exact name as
    RFC 5987 ``filename*`` (HTTP headers are Latin-1; a Cyrillic or emoji name is not)."""
    fallback = (
        "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name).strip()
        or "download"
    )
    exact = quote(name, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"


def _document_out(session: Any, doc: Document, *, detail: bool) -> DocumentOut:
    job = session.scalars(select(Job).where(Job.key == jobs.document_key(doc.id))).first()
    out = DocumentOut(
        id=doc.id,
        filename=doc.filename,
        sha256=doc.sha256,
        media_type=doc.media_type,
        size_bytes=doc.size_bytes,
        page_count=doc.page_count,
        status=doc.status,
        error_code=doc.error_code,
        error_message=doc.error_message,
        page_errors=list(doc.page_errors or []),
        created_at=doc.created_at,
        updated_at=doc.updated_at,
        job=JobOut.model_validate(job, from_attributes=True) if job else None,
    )
    if detail:
        out.record_ids = list(
            session.scalars(
                select(Record.id).where(Record.document_id == doc.id).order_by(Record.page_first)
            )
        )
        pages = session.scalars(
            select(Page).where(Page.document_id == doc.id).order_by(Page.number)
        )
        out.pages = [
            PageOut(
                number=p.number,
                method=p.method,
                chars=len(p.text or ""),
                ocr_confidence=p.ocr_confidence,
                error_code=p.error_code,
                error_message=p.error_message,
            )
            for p in pages
        ]
    return out
