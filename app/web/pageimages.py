"""Page images for the record view, rendered from the stored blob and cached on disk.

PDF pages through PyMuPDF, image frames (JPG, PNG, TIFF) through Pillow, the way the
parser read them (EXIF orientation applied), scaled to at most ``MAX_WIDTH`` pixels. The
cache is keyed by the blob's sha256, so a file's images never go stale.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pymupdf
from PIL import Image, ImageOps

from core.blobs import BlobStore
from core.errors import NotFound
from core.settings import Settings

MAX_WIDTH = 1100
_OPEN: Any = pymupdf.open
_MATRIX: Any = pymupdf.Matrix
VERSION = "1"


def cache_path(settings: Settings, sha256: str, number: int) -> Path:
    return settings.var_dir / "cache" / "pages" / sha256[:2] / f"{sha256}-{number}-v{VERSION}.png"


def page_png(settings: Settings, sha256: str, media_type: str | None, number: int) -> Path:
    """The cached PNG of page ``number`` (1-based); rendered on first use."""
    path = cache_path(settings, sha256, number)
    if path.is_file():
        return path
    store = BlobStore(settings.blobs)
    if not store.exists(sha256):
        raise NotFound("the file's bytes were not kept, so its pages cannot be shown")
    data = store.get(sha256)
    if media_type == "application/pdf" or data[:5] == b"%PDF-":
        png = _pdf_page(data, number)
    else:
        png = _image_frame(data, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a temporary file and renamed: a concurrent request never reads half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as out:
        out.write(png)
    os.replace(tmp, path)
    return path


def _pdf_page(data: bytes, number: int) -> bytes:
    with _OPEN(stream=data, filetype="pdf") as doc:
        if not 1 <= number <= doc.page_count:
            raise NotFound(f"the document has no page {number}")
        page = doc[number - 1]
        zoom = min(MAX_WIDTH / max(page.rect.width, 1.0), 3.0)
        png: bytes = page.get_pixmap(matrix=_MATRIX(zoom, zoom), alpha=False).tobytes("png")
        return png


def _image_frame(data: bytes, number: int) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        frames = int(getattr(image, "n_frames", 1))
        if not 1 <= number <= frames:
            raise NotFound(f"the image has no page {number}")
        image.seek(number - 1)
        frame = ImageOps.exif_transpose(image).convert("RGB")
        if frame.width > MAX_WIDTH:
            frame = frame.resize((MAX_WIDTH, round(frame.height * MAX_WIDTH / frame.width)))
        out = io.BytesIO()
        frame.save(out, format="PNG", optimize=False)
        return out.getvalue()
