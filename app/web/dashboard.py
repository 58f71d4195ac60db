"""The dashboard (``/``): live figures and the records table with filters and export."""

from __future__ import annotations

import threading
import time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.api.deps import State
from app.api.health import check_model
from app.web.auth import Viewer
from app.web.render import page
from app.web.stats import dashboard
from app.web.table import RecordFilter, table
from core.models import RecordStatus
from core.records import DOC_TYPES
from core.settings import Settings

router = APIRouter(include_in_schema=False)

MODEL_CHECK_TTL_S = 15.0
_model_checks: dict[str, tuple[float, str | None]] = {}
_model_lock = threading.Lock()


def model_problem(settings: Settings) -> str | None:
    """Why the model is unreachable (None when it answers); checked at most every 15 s."""
    key = f"{settings.model.backend}:{settings.model.base_url}:{settings.model.name}"
    with _model_lock:
        cached = _model_checks.get(key)
    if cached is not None and time.monotonic() - cached[0] < MODEL_CHECK_TTL_S:
        return cached[1]
    try:
        check_model(settings)
        problem = None
    except Exception as exc:
        problem = str(exc)
    with _model_lock:
        _model_checks[key] = (time.monotonic(), problem)
    return problem


def _filter(
    doc_type: str, status: str, date_from: str, date_to: str, q: str, sort: str, order: str, p: int
) -> tuple[RecordFilter, str | None]:
    try:
        return (
            RecordFilter.model_validate(
                {
                    "doc_type": doc_type if doc_type in DOC_TYPES else "",
                    "status": status if status in set(RecordStatus) else "",
                    "date_from": date_from or None,
                    "date_to": date_to or None,
                    "q": q,
                    "sort": sort,
                    "order": order,
                    "page": p,
                }
            ),
            None,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        return RecordFilter(), f"{where}: {first.get('msg', 'not valid')}"


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request,
    state: State,
    identity: Viewer,
    doc_type: str = "",
    status: str = "",
    date_from: Annotated[str, Query(alias="from")] = "",
    date_to: Annotated[str, Query(alias="to")] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    sort: str = "created",
    order: str = "desc",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    settings = state.settings
    flt, problem = _filter(doc_type, status, date_from, date_to, q, sort, order, page_no)
    figures = await run_in_threadpool(dashboard, settings)
    rows = await run_in_threadpool(table, settings, flt)
    model_down = await run_in_threadpool(model_problem, settings)
    base = {
        "doc_type": flt.doc_type,
        "status": flt.status,
        "from": flt.date_from.isoformat() if flt.date_from else "",
        "to": flt.date_to.isoformat() if flt.date_to else "",
        "q": flt.q,
    }
    base = {k: v for k, v in base.items() if v}

    def link(**changes: object) -> str:
        params: dict[str, object] = {**base, "sort": flt.sort, "order": flt.order, **changes}
        return "/?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})

    export = urlencode(flt.export_params())
    return page(
        request,
        "dashboard.html",
        {
            "d": figures,
            "table": rows,
            "f": flt,
            "filter_problem": problem,
            "doc_types": DOC_TYPES,
            "statuses": [s.value for s in RecordStatus],
            "link": link,
            "export_csv": "/v1/export?"
            + urlencode({"format": "csv"})
            + ("&" + export if export else ""),
            "export_jsonl": "/v1/export?"
            + urlencode({"format": "jsonl"})
            + ("&" + export if export else ""),
            "model_down": model_down,
        },
        principal=identity.principal,
        csrf=identity.csrf_token,
    )


@router.get("/dashboard.json")
async def figures(state: State, _identity: Viewer) -> JSONResponse:
    """The dashboard's figures for its live refresh (polled by the page)."""
    d = await run_in_threadpool(dashboard, state.settings)
    problem = await run_in_threadpool(model_problem, state.settings)
    return JSONResponse({**d.model_dump(mode="json"), "model_problem": problem})
