"""A record beside its page images: each field's box, confidence, issues, the agent run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from app.api.deps import State
from app.api.errors import ApiError
from app.api.records import RecordOut, record_out
from app.web.auth import Viewer
from app.web.pageimages import page_png
from app.web.render import page
from core.db import session_scope
from core.errors import NotFound
from core.models import AgentRun, Document, Page, ToolCallRow
from core.settings import Settings

router = APIRouter(include_in_schema=False)

# Below this confidence a field is marked for a second look.
LOW_CONFIDENCE = 0.8


class FieldView(BaseModel):
    path: str
    label: str
    value: Any
    original: Any
    corrected: bool
    confidence: float | None
    low: bool
    page: int | None
    box: list[float] | None
    source_text: str | None
    issues: list[str]


class PageView(BaseModel):
    number: int
    width: float
    height: float
    method: str


class RecordView(BaseModel):
    record: RecordOut
    filename: str
    fields: list[FieldView]
    pages: list[PageView]
    record_issues: list[str]


def _value(cell: Any) -> Any:
    return cell.get("value") if isinstance(cell, dict) and "value" in cell else cell


def _is_cell(value: Any) -> bool:
    return not isinstance(value, dict) or "value" in value


def _flat(prefix: str, values: dict[str, Any], out: list[tuple[str, Any]]) -> None:
    for key, value in values.items():
        path = f"{prefix}{key}"
        if _is_cell(value):
            out.append((path, value))
        else:
            _flat(f"{path}.", value, out)


def _cells(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """(path, cell) of every field (nested ones by dotted path), line item field and
    container field, in order."""
    out: list[tuple[str, Any]] = []
    fields = data.get("fields")
    if isinstance(fields, dict):
        _flat("", fields, out)
    else:
        top = {k: v for k, v in data.items() if k not in ("line_items", "containers")}
        _flat("", {k: v for k, v in top.items() if not isinstance(v, list)}, out)
    for rows in ("line_items", "containers"):
        for i, row in enumerate(data.get(rows) or []):
            if isinstance(row, dict):
                _flat(f"{rows}[{i}].", row, out)
    return out


def _label(path: str) -> str:
    return path.replace("line_items", "line").replace("containers", "container").replace("_", " ")


def _issues_by_field(issues: list[Any]) -> tuple[dict[str, list[str]], list[str]]:
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for issue in issues:
        if not isinstance(issue, dict):
            general.append(str(issue))
            continue
        message = str(issue.get("message") or issue.get("code") or issue)
        field = issue.get("field")
        if field:
            by_field.setdefault(str(field), []).append(message)
        else:
            general.append(message)
    return by_field, general


def record_view(settings: Settings, record_id: int) -> RecordView:
    with session_scope(settings.database_url) as session:
        try:
            out = record_out(session, record_id)
        except ApiError as exc:
            raise HTTPException(404, exc.message) from exc
        doc = session.get(Document, out.document_id)
        pages = session.scalars(
            select(Page)
            .where(
                Page.document_id == out.document_id,
                Page.number >= out.page_first,
                Page.number <= out.page_last,
            )
            .order_by(Page.number)
        )
        page_views = [
            PageView(number=p.number, width=p.width, height=p.height, method=p.method)
            for p in pages
            if p.width > 0 and p.height > 0
        ]
        filename = doc.filename if doc else ""
    corrected = dict(_cells(out.corrected_data))
    by_field, general = _issues_by_field(out.issues)
    fields: list[FieldView] = []
    for path, cell in _cells(out.data):
        prov = out.provenance.get(path) or (
            cell.get("provenance") if isinstance(cell, dict) else None
        )
        prov = prov if isinstance(prov, dict) else {}
        conf = out.confidence.get(path)
        if conf is None and isinstance(cell, dict):
            conf = cell.get("confidence")
        now = corrected.get(path, cell)
        box = prov.get("box")
        fields.append(
            FieldView(
                path=path,
                label=_label(path),
                value=_value(now),
                original=_value(cell),
                corrected=_value(now) != _value(cell),
                confidence=float(conf) if conf is not None else None,
                low=conf is not None and float(conf) < LOW_CONFIDENCE,
                page=prov.get("page"),
                box=list(box) if box else None,
                source_text=prov.get("source_text"),
                issues=by_field.get(path, []),
            )
        )
    known = {f.path for f in fields}
    general += [f"{field}: {m}" for field, ms in by_field.items() if field not in known for m in ms]
    return RecordView(
        record=out, filename=filename, fields=fields, pages=page_views, record_issues=general
    )


@router.get("/records/{record_id}", response_class=HTMLResponse)
async def show(request: Request, record_id: int, state: State, identity: Viewer) -> Response:
    view = await run_in_threadpool(record_view, state.settings, record_id)
    return page(
        request,
        "record.html",
        {"v": view, "mode": "view"},
        principal=identity.principal,
        csrf=identity.csrf_token,
    )


@router.get("/documents/{document_id}/pages/{number}.png")
async def page_image(document_id: int, number: int, state: State, _identity: Viewer) -> Response:
    def find() -> tuple[str, str | None]:
        with session_scope(state.settings.database_url) as session:
            doc = session.get(Document, document_id)
            if doc is None:
                raise HTTPException(404, f"no document {document_id}")
            return doc.sha256, doc.media_type

    sha, media = await run_in_threadpool(find)
    try:
        path = await run_in_threadpool(page_png, state.settings, sha, media, number)
    except NotFound as exc:
        raise HTTPException(404, exc.message) from exc
    return FileResponse(
        path, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"}
    )


class ToolCallView(BaseModel):
    seq: int
    name: str
    arguments: dict[str, Any]
    result_summary: str
    latency_s: float
    error: str | None


@router.get("/runs/{run_id}", response_class=HTMLResponse)
async def run(request: Request, run_id: int, state: State, identity: Viewer) -> Response:
    def load() -> tuple[dict[str, Any], list[ToolCallView]]:
        with session_scope(state.settings.database_url) as session:
            row = session.get(AgentRun, run_id)
            if row is None:
                raise HTTPException(404, f"no agent run {run_id}")
            calls = session.scalars(
                select(ToolCallRow).where(ToolCallRow.run_id == run_id).order_by(ToolCallRow.seq)
            )
            info = {c.name: getattr(row, c.name) for c in AgentRun.__table__.columns}
            return info, [ToolCallView.model_validate(c, from_attributes=True) for c in calls]

    info, calls = await run_in_threadpool(load)
    return page(
        request,
        "run.html",
        {"run": info, "calls": calls},
        principal=identity.principal,
        csrf=identity.csrf_token,
    )
