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
    # Phone photos and worn prints (evals/degrade.py); 0 leaves a scan as it was before.
    fade: float = 0.0  # 0-1: share of the ink's darkness lost (thermal prints)
    crumple: float = 0.0  # 0-1: depth of the shading along folds and creases
    perspective: float = 0.0  # corners moved inwards by up to this share of the page
    light: float = 0.0  # 0-1: how much darker the dimmest corner is than the brightest
    motion: float = 0.0  # length in pixels of a camera-shake streak
    profile: str = ""  # the degradation profile that drew these (a label only)


def degrade_page(page: Any, params: ScanParams, index: int) -> Image.Image:
    pix = page.get_pixmap(dpi=params.dpi, colorspace=_mu.csGRAY)
    img = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    if params.rotation:
        img = img.rotate(
            params.rotation, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255
        )
    img = photograph(img, params, index)
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


def photograph(img: Image.Image, params: ScanParams, index: int) -> Image.Image:
    """Fading, folds, a camera's perspective and light, camera shake: each only when set."""
    if not (params.fade or params.crumple or params.perspective or params.light or params.motion):
        return img
    rng = np.random.default_rng([params.seed, index, 7])
    arr = np.asarray(img, dtype=np.float32)
    if params.fade:
        # Thermal paper: the ink loses darkness and the paper yellows to a light grey.
        arr = 235.0 - (235.0 - arr * 235.0 / 255.0) * (1.0 - params.fade)
    if params.crumple:
        arr = arr * _folds(arr.shape, params.crumple, rng)
    if params.perspective:
        arr = _perspective(arr, params.perspective, rng)
    if params.light:
        arr = arr * _light(arr.shape, params.light, rng)
    if params.motion:
        arr = _shake(arr, params.motion, rng)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")


def _grid(shape: tuple[int, ...]) -> tuple[Any, Any]:
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs / max(w, h), ys / max(w, h)


def _folds(shape: tuple[int, ...], depth: float, rng: np.random.Generator) -> Any:
    """Brightness of a crumpled sheet: a few folds (a dark crease, one side in shadow)
    and soft wrinkles, 1 on flat paper."""
    xs, ys = _grid(shape)
    shade = np.ones(shape, dtype=np.float32)
    for _ in range(int(rng.integers(2, 5))):
        angle = rng.uniform(0, np.pi)
        offset = rng.uniform(0.2, 0.8)
        dist = xs * np.cos(angle) + ys * np.sin(angle) - offset
        crease = np.exp(-((dist / 0.004) ** 2))
        side = 1.0 / (1.0 + np.exp(-dist / 0.03))
        shade -= depth * (0.5 * crease + 0.25 * side * rng.uniform(0.3, 1.0))
    for _ in range(3):
        fx, fy, phase = rng.uniform(3, 9), rng.uniform(3, 9), rng.uniform(0, 2 * np.pi)
        shade -= depth * 0.06 * (1 + np.sin(2 * np.pi * (fx * xs + fy * ys) + phase))
    return np.clip(shade, 0.2, 1.0)


def _light(shape: tuple[int, ...], amount: float, rng: np.random.Generator) -> Any:
    """A lamp off to one side: brightness falls off from a point near one edge."""
    xs, ys = _grid(shape)
    h, w = shape
    cx, cy = rng.uniform(-0.2, 1.2) * w / max(w, h), rng.uniform(-0.2, 1.2) * h / max(w, h)
    dist = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2)
    return 1.0 - amount * dist / max(float(dist.max()), 1e-6)


def _perspective(arr: Any, amount: float, rng: np.random.Generator) -> Any:
    """The page photographed at an angle: its corners pulled inwards on a darker table."""
    h, w = arr.shape
    corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
    inward = [(1, 1), (-1, 1), (-1, -1), (1, -1)]
    moved = [
        (x + sx * rng.uniform(0.2, 1.0) * amount * w, y + sy * rng.uniform(0.2, 1.0) * amount * h)
        for (x, y), (sx, sy) in zip(corners, inward, strict=True)
    ]
    coeffs = _homography(moved, corners)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
    table = int(rng.integers(60, 140))
    out = img.transform(
        (w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=table
    )
    return np.asarray(out, dtype=np.float32)


def _homography(
    src: list[tuple[float, float]], dst: list[tuple[float, float]]
) -> tuple[float, ...]:
    """PIL's 8 coefficients mapping each point of ``src`` (output) to ``dst`` (input)."""
    rows = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    b = [c for point in dst for c in point]
    solved = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(b, dtype=np.float64))
    return tuple(float(c) for c in solved)


def _shake(arr: Any, length: float, rng: np.random.Generator) -> Any:
    """Camera shake: the average of the image shifted along a short random streak."""
    steps = max(2, round(length))
    angle = rng.uniform(0, np.pi)
    dx, dy = np.cos(angle), np.sin(angle)
    out = np.zeros_like(arr)
    for i in range(steps):
        t = i - (steps - 1) / 2
        out += np.roll(arr, (round(t * dy), round(t * dx)), axis=(0, 1))
    return out / steps


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
