"""The dashboard's records table: filters, sorting and pages over the records table."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select

from app.api.records import review_state, reviews_of
from app.export.rows import NUMBER_FIELD, contains_text
from core.db import session_scope
from core.models import Document, Record
from core.settings import Settings

PAGE_SIZE = 50
SORTS = {
    "created": Record.created_at,
    "id": Record.id,
    "type": Record.doc_type,
    "status": Record.status,
}


class RecordFilter(BaseModel):
    doc_type: str = ""
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = Field(default="", max_length=200)
    sort: Literal["created", "id", "type", "status"] = "created"
    order: Literal["asc", "desc"] = "desc"
    page: int = Field(default=1, ge=1, le=100_000)

    def export_params(self) -> dict[str, str]:
        """The same filter in the export API's terms (``/v1/export``)."""
        params: dict[str, str] = {}
        if self.doc_type:
            params["type"] = self.doc_type
        if self.status:
            params["status"] = self.status
        if self.date_from:
            params["since"] = _start(self.date_from).isoformat()
        if self.date_to:
            params["until"] = _start(self.date_to + timedelta(days=1)).isoformat()
        if self.q.strip():
            params["q"] = self.q.strip()
        return params


class Row(BaseModel):
    id: int
    document_id: int
    filename: str
    doc_type: str
    status: str
    review_state: str
    reference: str
    created_at: datetime


class Table(BaseModel):
    rows: list[Row]
    total: int
    page: int
    pages: int


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def filtered(f: RecordFilter) -> Select[tuple[Record]]:
    stmt = select(Record)
    if f.doc_type:
        stmt = stmt.where(Record.doc_type == f.doc_type)
    if f.status:
        stmt = stmt.where(Record.status == f.status)
    if f.date_from:
        stmt = stmt.where(Record.created_at >= _start(f.date_from))
    if f.date_to:
        stmt = stmt.where(Record.created_at < _start(f.date_to + timedelta(days=1)))
    if f.q.strip():
        stmt = stmt.where(contains_text(f.q))
    return stmt


def reference(data: dict[str, Any], doc_type: str) -> str:
    key = NUMBER_FIELD.get(doc_type, "")
    fields = data.get("fields", data)
    value = fields.get(key) if isinstance(fields, dict) else None
    if isinstance(value, dict):
        value = value.get("value")
    return "" if value is None else str(value)


def table(settings: Settings, f: RecordFilter) -> Table:
    stmt = filtered(f)
    column = SORTS[f.sort]
    # Ties broken by date then id in the same direction: every sort reads an index in order
    # (created_at, id; status, created_at, id; doc_type, created_at, id; the primary key).
    keys = [column] if f.sort in ("id", "created") else [column, Record.created_at]
    keys = [*keys, Record.id] if f.sort != "id" else keys
    ordering = [k.asc() if f.order == "asc" else k.desc() for k in keys]
    with session_scope(settings.database_url) as session:
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(f.page, pages)
        # The page's ids first, from the index alone (a deep page skips index entries, not
        # wide rows with their JSON), then those rows.
        ids = list(
            session.scalars(
                stmt.with_only_columns(Record.id)
                .order_by(*ordering)
                .limit(PAGE_SIZE)
                .offset((page - 1) * PAGE_SIZE)
            )
        )
        found = {
            r.id: (r, name)
            for r, name in session.execute(
                select(Record, Document.filename)
                .join(Document, Document.id == Record.document_id)
                .where(Record.id.in_(ids))
            )
        }
        rows = [found[i] for i in ids if i in found]
        reviews = reviews_of(session, [r.id for r, _ in rows])
        out = [
            Row(
                id=r.id,
                document_id=r.document_id,
                filename=name,
                doc_type=r.doc_type,
                status=r.status,
                review_state=review_state(reviews[r.id]),
                reference=reference(r.data, r.doc_type),
                created_at=r.created_at,
            )
            for r, name in rows
        ]
    return Table(rows=out, total=total, page=page, pages=pages)
