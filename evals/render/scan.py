"""Scanned variants: pages rendered to images and degraded like a cheap office scanner."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pymupdf
from PIL import Image, ImageFilter

# PyMuPDF's annotations are partial; it is used through an Any-typed handle.
_mu: Any = pymupdf

ScanFormat = Literal["png", "jpg", "tiff", "pdf"]
MEDIA_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "tiff": "image/tiff",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class ScanParams:
    dpi: int
    rotation: float  # degrees, counter-clockwise
    blur: float  # Gaussian radius in pixels
    noise: float  # standard deviation of added grey noise (0-255 scale)
    jpeg_quality: int
    seed: int


def degrade_page(page: Any, params: ScanParams, index: int) -> Image.Image:
    pix = page.get_pixmap(dpi=params.dpi, colorspace=_mu.csGRAY)
    img = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    if params.rotation:
        img = img.rotate(
            params.rotation, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255
        )
    if params.blur:
        img = img.filter(ImageFilter.GaussianBlur(params.blur))
    if params.noise:
        rng = np.random.default_rng(params.seed * 1000 + index)
        arr = np.asarray(img, dtype=np.float32)
        arr = arr + rng.normal(0.0, params.noise, arr.shape).astype(np.float32)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=params.jpeg_quality)  # the scanner's own artefacts
    return Image.open(io.BytesIO(buf.getvalue())).convert("L")


def scan_pdf(pdf: bytes, params: ScanParams, fmt: ScanFormat) -> bytes:
    """Render every page, degrade it, and pack the images as ``fmt``.

    Single images (png/jpg/tiff) hold one page; a multi-page scan is a PDF of JPEG pages.
    """
    doc = _mu.open("pdf", pdf)
    images = [degrade_page(page, params, i) for i, page in enumerate(doc)]
    doc.close()
    if fmt != "pdf" and len(images) != 1:
        raise ValueError("image formats hold one page; use pdf for multi-page scans")
    buf = io.BytesIO()
    if fmt == "png":
        images[0].save(buf, format="PNG", dpi=(params.dpi, params.dpi))
    elif fmt == "jpg":
        images[0].save(
            buf, format="JPEG", quality=params.jpeg_quality, dpi=(params.dpi, params.dpi)
        )
    elif fmt == "tiff":
        images[0].save(buf, format="TIFF", compression="tiff_deflate", dpi=(params.dpi, params.dpi))
    else:
        out = _mu.open()
        for img in images:
            jpeg = io.BytesIO()
            img.save(jpeg, format="JPEG", quality=params.jpeg_quality)
            width = img.width * 72 / params.dpi
            height = img.height * 72 / params.dpi
            page = out.new_page(width=width, height=height)
            page.insert_image(page.rect, stream=jpeg.getvalue())
        out.set_metadata({"producer": "shipdoc evals", "creator": "shipdoc evals"})
        data: bytes = out.tobytes(garbage=3, deflate=True, no_new_id=True)
        out.close()
        return data
    return buf.getvalue()
