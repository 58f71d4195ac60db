"""Knowledge base (admin): queue an incremental ingestion of the docs collection."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.api.deps import Admin, State
from app.api.errors import ApiError

router = APIRouter(prefix="/v1/kb", tags=["kb"])


@router.post("/ingest", status_code=202)
async def ingest(state: State, _principal: Admin) -> dict[str, str]:
    """Bring the docs collection up to date with its markdown sources, on the ``kb`` queue.

    Only changed chunks are embedded; a repeated request costs little.
    """
    try:
        await run_in_threadpool(state.dispatcher.submit_kb_ingest)
    except Exception as exc:
        raise ApiError(503, "queue_unavailable", f"could not queue the ingestion ({exc})") from exc
    return {"status": "queued", "queue": "kb"}
