"""Upload: drop several files; each goes to the upload API on its own request, so the
page shows each file's progress and then its outcome as the pipeline reaches it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import State
from app.web.auth import UploaderUser
from app.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, state: State, identity: UploaderUser) -> Response:
    limits = state.settings.limits
    return page(
        request,
        "upload.html",
        {"max_mb": limits.max_file_bytes // (1024 * 1024), "max_pages": limits.max_pages},
        principal=identity.principal,
        csrf=identity.csrf_token,
    )
