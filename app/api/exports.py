"""Exports over HTTP: the same streamed CSV / JSONL / XLSX as ``shipdoc export``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.api.deps import Reader, State
from app.api.errors import ApiError
from app.export import MEDIA_TYPES, ExportQuery, Format, export_filename, export_stream
from core.records import DOC_TYPES

router = APIRouter(prefix="/v1/export", tags=["export"])

_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "the export, streamed (chunked transfer)",
        "content": {media: {} for media in MEDIA_TYPES.values()},
    }
}


@router.get("", response_class=StreamingResponse, responses=_RESPONSES)
def export_records(
    state: State,
    _principal: Reader,
    format: Annotated[Format, Query(description="csv, jsonl or xlsx")] = "csv",
    per: Annotated[
        Literal["record", "line-item", "line_item"],
        Query(description="one row per record, or one per line item"),
    ] = "record",
    since: Annotated[datetime | None, Query(description="created at or after (ISO)")] = None,
    until: Annotated[datetime | None, Query(description="created before (ISO)")] = None,
    type: Annotated[list[str] | None, Query(description="document type(s), repeatable")] = None,
    status: Annotated[list[str] | None, Query(description="record status(es), repeatable")] = None,
    document_id: int | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> StreamingResponse:
    """Records as CSV, JSON Lines or XLSX, streamed as they are read (flat memory).

    Each row holds the corrected value where a reviewer changed one, and the extracted
    value beside it (`<field>__original`; in JSONL the `original` object).
    """
    unknown = sorted(set(type or []) - set(DOC_TYPES))
    if unknown:
        raise ApiError(422, "bad_doc_type", f"unknown document type(s) {unknown}")
    query = ExportQuery(
        since=since,
        until=until,
        doc_types=list(type or []),
        statuses=list(status or []),
        document_id=document_id,
        q=q,
        per="line_item" if per != "record" else "record",
    )
    name = export_filename(query, format)
    return StreamingResponse(
        export_stream(state.settings.database_url, query, format),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
