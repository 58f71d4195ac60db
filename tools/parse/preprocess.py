"""Page images prepared for Tesseract by what they need: measure first, change only that.

``measure`` reads a page image (on a copy reduced to at most ``_PROBE_PIXELS``) and
returns ``PageStats``: the height of its text lines in pixels, the skew of those lines,
the paper and ink grey levels, how unevenly the paper is lit, the grey noise on the paper
and the shape of the text block. ``plan`` turns the figures into ``Plan`` steps:

- ``flatten``: divide by the paper's own brightness (measured per block) and stretch ink to
  black, paper to white, for faded prints, uneven light, shading of folds and crumples;
- ``scale``: upscale when text lines are shorter than ``UPSCALE_BELOW`` px (a 150-dpi scan,
  a far phone photo) to ``TARGET_TEXT_HEIGHT`` px, about 300 dpi for 9-10 pt text;
- ``rotate``: deskew when the lines lean by ``DESKEW_FROM`` degrees or more;
- ``psm``: Tesseract's page segmentation, 4 (one column) for a narrow, tall text block
  such as a receipt, otherwise Tesseract's default (3, forms and letters).

``prepare`` applies a plan and returns the image with a ``Transform`` that maps word boxes
back onto the image as given. A clean 300-dpi scan gets an empty plan and is passed on
unchanged. Preprocessing never fails a page: an image it cannot measure or change (odd
mode, too few pixels, out of memory) is OCR'd as it is.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

log = logging.getLogger(__name__)

Gray = npt.NDArray[np.floating[Any]]
Mask = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]
Floats = npt.NDArray[np.float64]

# Text lines shorter than this (px, ascender to descender) are upscaled to the target.
UPSCALE_BELOW = 24.0
TARGET_TEXT_HEIGHT = 34.0
MAX_SCALE = 3.0
# Lines leaning this much or more (degrees) are levelled; the search covers +-SKEW_RANGE.
DESKEW_FROM = 0.3
SKEW_RANGE = 8.0
# Ink this close to the paper (grey levels) is a faded print; paper brightness varying by
# this much over the page is uneven light or shading. Both are flattened and stretched.
FADED_BELOW = 110.0
UNEVEN_ABOVE = 45.0
# A text block narrower than this many line heights and taller than wide is one column.
COLUMN_WIDTH_BELOW = 32.0
PSM_COLUMN = 4

# Measurement works on a copy of at most this many pixels; a prepared page holds at most
# _MAX_OUT_PIXELS (an upscale is reduced to fit, never skipped).
_PROBE_PIXELS = 3_000_000
_MAX_OUT_PIXELS = 40_000_000
_MIN_SIDE = 32
# Share of the page that must be ink for the figures to mean anything.
_MIN_INK = 0.002
_SKEW_POINTS = 200_000
_STRIPS = 8
_ROW_INK = 0.01
_MIN_RUN = 3
# Rows or columns more than this share ink are a dark border or table, not text.
_SOLID = 0.4
# What numpy and Pillow raise on images they cannot handle (and memory running out).
_IMAGE_ERRORS = (ValueError, TypeError, OSError, MemoryError, ArithmeticError, IndexError)


@dataclass(frozen=True, slots=True)
class PageStats:
    """What a page image needs, measured (grey levels 0-255, lengths in its pixels)."""

    width: int
    height: int
    has_text: bool
    text_height: float | None = None  # median text-line height
    skew: float = 0.0  # degrees counter-clockwise that level the lines
    paper: float = 255.0  # typical paper level
    contrast: float = 255.0  # paper level minus typical ink level
    unevenness: float = 0.0  # spread of the paper level over the page
    noise: float = 0.0  # grey-level standard deviation on the paper
    block_width: float = 0.0  # width of the text block
    block_height: float = 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    """The steps a page gets; the empty plan leaves it as it is."""

    flatten: bool = False
    scale: float = 1.0
    rotate: float = 0.0
    psm: int | None = None
    reasons: tuple[str, ...] = ()

    @property
    def changes_image(self) -> bool:
        return self.flatten or self.scale != 1.0 or self.rotate != 0.0


@dataclass(frozen=True, slots=True)
class Transform:
    """Maps points of the prepared image back onto the image as given."""

    scale: float = 1.0
    rotate: float = 0.0  # degrees counter-clockwise, about the centre, canvas expanded
    scaled_size: tuple[int, int] = (0, 0)
    out_size: tuple[int, int] = (0, 0)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        if self.rotate:
            corners = [self._unrotate(x, y) for x in (x0, x1) for y in (y0, y1)]
            xs, ys = [c[0] for c in corners], [c[1] for c in corners]
            x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
        s = self.scale
        return x0 / s, y0 / s, x1 / s, y1 / s

    def _unrotate(self, x: float, y: float) -> tuple[float, float]:
        # PIL turned the scaled image counter-clockwise by `rotate` about its centre (y down).
        theta = math.radians(self.rotate)
        cos, sin = math.cos(theta), math.sin(theta)
        dx, dy = x - self.out_size[0] / 2, y - self.out_size[1] / 2
        return (
            self.scaled_size[0] / 2 + dx * cos - dy * sin,
            self.scaled_size[1] / 2 + dx * sin + dy * cos,
        )


@dataclass(frozen=True, slots=True)
class Prepared:
    image: Image.Image
    plan: Plan
    transform: Transform = field(default_factory=Transform)


def prepare(image: Image.Image) -> Prepared:
    """The page as Tesseract should see it; the image unchanged when nothing helps or
    anything goes wrong."""
    try:
        stats = measure(image)
        steps = plan(stats)
        return apply(image, steps) if steps.changes_image else Prepared(image, steps)
    except _IMAGE_ERRORS as exc:
        log.warning("page preprocessing skipped: %s", exc)
        return Prepared(image, Plan(reasons=(f"skipped: {type(exc).__name__}",)))


def as_is(image: Image.Image) -> Prepared:
    """The page unchanged (preprocessing switched off)."""
    return Prepared(image, Plan())


def plan(stats: PageStats) -> Plan:
    if not stats.has_text or stats.text_height is None:
        return Plan()
    reasons: list[str] = []
    flatten = stats.contrast < FADED_BELOW or stats.unevenness > UNEVEN_ABOVE
    if flatten:
        reasons.append(f"contrast {stats.contrast:.0f}, unevenness {stats.unevenness:.0f}")
    scale = 1.0
    if stats.text_height < UPSCALE_BELOW:
        scale = min(MAX_SCALE, TARGET_TEXT_HEIGHT / stats.text_height)
        fit = math.sqrt(_MAX_OUT_PIXELS / (stats.width * stats.height))
        scale = max(1.0, min(scale, fit))
        reasons.append(f"text height {stats.text_height:.1f} px: x{scale:.2f}")
    rotate = stats.skew if abs(stats.skew) >= DESKEW_FROM else 0.0
    if rotate:
        reasons.append(f"skew {stats.skew:+.2f} deg")
    psm = None
    lines_wide = stats.block_width / stats.text_height
    if lines_wide < COLUMN_WIDTH_BELOW and stats.block_height > stats.block_width:
        psm = PSM_COLUMN
        reasons.append(f"one column, {lines_wide:.0f} line heights wide")
    return Plan(
        flatten=flatten,
        scale=scale,
        rotate=rotate,
        psm=psm,
        reasons=tuple(reasons),
    )


def apply(image: Image.Image, steps: Plan) -> Prepared:
    gray = image if image.mode == "L" else image.convert("L")
    if steps.flatten:
        gray = flatten(gray)
    if steps.scale != 1.0:
        size = (round(gray.width * steps.scale), round(gray.height * steps.scale))
        gray = gray.resize(size, Image.Resampling.BICUBIC)
    scaled_size = gray.size
    if steps.rotate:
        gray = gray.rotate(
            steps.rotate, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255
        )
    # Box coordinates are divided back by the scale actually applied (sizes were rounded).
    scale = scaled_size[0] / image.width
    transform = Transform(scale, steps.rotate, scaled_size, gray.size)
    return Prepared(gray, steps, transform)


# ----------------------------------------------------------------------------- measuring


def measure(image: Image.Image) -> PageStats:
    width, height = image.size
    if min(width, height) < _MIN_SIDE:
        return PageStats(width, height, has_text=False)
    probe, factor = _probe(image)
    raw = np.asarray(probe, dtype=np.float32)
    paper_grid = _paper_grid(raw)
    background = _upsample(paper_grid, raw.shape)
    flat = np.clip(raw / np.maximum(background, 1.0) * 255.0, 0.0, 255.0)
    ink = _without_solid_bands(flat < _otsu(flat))
    ink_share = float(ink.mean())
    paper = float(np.median(paper_grid))
    if not _MIN_INK <= ink_share <= 0.5:
        return PageStats(width, height, has_text=False, paper=paper)
    contrast = paper - float(np.percentile(raw[ink], 25))
    unevenness = float(np.percentile(paper_grid, 95) - np.percentile(paper_grid, 5))
    skew, sideways = _lines(ink)
    if sideways:
        # Lines run down the page: orientation detection turns it after a first pass.
        return PageStats(width, height, has_text=False, paper=paper, contrast=contrast)
    level = _rotate_mask(ink, skew) if abs(skew) >= DESKEW_FROM else ink
    text_height = _text_height(level)
    block_w, block_h = _block(level)
    return PageStats(
        width,
        height,
        has_text=text_height is not None,
        text_height=None if text_height is None else text_height * factor,
        skew=skew,
        paper=paper,
        contrast=contrast,
        unevenness=unevenness,
        noise=_noise(raw, ink),
        block_width=block_w * factor,
        block_height=block_h * factor,
    )


def _probe(image: Image.Image) -> tuple[Image.Image, int]:
    gray = image if image.mode == "L" else image.convert("L")
    factor = max(1, math.ceil(math.sqrt(gray.width * gray.height / _PROBE_PIXELS)))
    return (gray.reduce(factor) if factor > 1 else gray), factor


def _paper_grid(raw: Gray) -> Gray:
    """The paper level per block: the 90th percentile, then the brightest of each block's
    neighbours (a block full of ink or a dark logo takes its neighbours' paper)."""
    h, w = raw.shape
    size = max(8, min(h, w) // 16)
    gh, gw = max(1, h // size), max(1, w // size)
    blocks = raw[: gh * size, : gw * size].reshape(gh, size, gw, size).swapaxes(1, 2)
    grid = np.percentile(blocks.reshape(gh, gw, -1), 90, axis=2).astype(np.float32)
    padded = np.pad(grid, 1, mode="edge")
    shifts = [
        padded[1 + dy : 1 + dy + gh, 1 + dx : 1 + dx + gw] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    ]
    top: Gray = np.max(np.stack(shifts), axis=0)
    return top


def _without_solid_bands(ink: Mask) -> Mask:
    """The ink less the rows and columns that are mostly dark: a table or a dark border
    around a photographed page, a black edge of the scanner lid. No line of text is."""
    rows = ink.mean(axis=1) > _SOLID
    columns = ink.mean(axis=0) > _SOLID
    if not rows.any() and not columns.any():
        return ink
    out = ink.copy()
    out[rows, :] = False
    out[:, columns] = False
    return out


def _upsample(grid: Gray, shape: tuple[int, ...]) -> Gray:
    small = Image.fromarray(grid.astype(np.float32), mode="F")
    out: Gray = np.asarray(small.resize((shape[1], shape[0]), Image.Resampling.BILINEAR))
    return out


def _otsu(values: Gray) -> float:
    hist, edges = np.histogram(values, bins=256, range=(0.0, 256.0))
    weights = hist.astype(np.float64)
    total = weights.sum()
    levels = edges[:-1]
    below = np.cumsum(weights)
    sum_below = np.cumsum(weights * levels)
    above = total - below
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_below = sum_below / below
        mean_above = (sum_below[-1] - sum_below) / above
        between = below * above * (mean_below - mean_above) ** 2
    between = np.nan_to_num(between)
    return float(levels[int(np.argmax(between))]) + 1.0


def _rotate_mask(mask: Mask, degrees: float) -> Mask:
    img = Image.fromarray(mask.astype(np.uint8) * 255, mode="L")
    turned = img.rotate(degrees, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=0)
    return np.asarray(turned) > 127


def _sharpness(profile: npt.NDArray[np.int64]) -> float:
    """How sharply a projection profile alternates between ink and gaps (scale-free)."""
    mean = float(profile.mean())
    if mean <= 0:
        return 0.0
    return float(np.square(np.diff(profile.astype(np.float64))).mean()) / (mean * mean)


def _best_shear(along: IntArray, across: IntArray, angles: Floats) -> tuple[float, float]:
    """The angle (degrees) at which ink projected along ``along`` is sharpest, and how sharp.

    A small rotation is a shear: a pixel at (x, y) moves to row y - x * tan(angle)."""
    best, best_sharp = 0.0, -1.0
    for angle in angles:
        rows = np.rint(along - across * math.tan(math.radians(float(angle)))).astype(np.int64)
        sharp = _sharpness(np.bincount(rows - rows.min()))
        if sharp > best_sharp:
            best, best_sharp = float(angle), sharp
    return best, best_sharp


def _lines(ink: Mask) -> tuple[float, bool]:
    """The skew (degrees counter-clockwise that level the text lines: coarse steps of 0.5,
    then 0.1) and whether the lines run down the page instead (a sideways page)."""
    ys, xs = np.nonzero(ink)
    if ys.size > _SKEW_POINTS:
        step = ys.size // _SKEW_POINTS + 1
        ys, xs = ys[::step], xs[::step]
    coarse = np.arange(-SKEW_RANGE, SKEW_RANGE + 0.01, 0.5)
    row_angle, row_sharp = _best_shear(ys, xs, coarse)
    _col_angle, col_sharp = _best_shear(xs, -ys, coarse)
    if col_sharp > row_sharp:
        return 0.0, True
    fine = np.arange(row_angle - 0.4, row_angle + 0.41, 0.1)
    # Rows grow downwards: lines that rise to the right (a page turned counter-clockwise
    # by r) are level at angle -r, which is also the turn that levels them.
    angle, _ = _best_shear(ys, xs, fine)
    return round(angle, 2), False


def _text_height(ink: Mask) -> float | None:
    """Median height of the runs of ink rows in narrow vertical strips (one strip spans one
    column's lines; vertical rules, ink in most rows of a strip, are left out)."""
    w = ink.shape[1]
    strip = max(_MIN_SIDE, w // _STRIPS)
    heights: list[int] = []
    for x in range(0, w - strip // 2, strip):
        part = ink[:, x : x + strip]
        columns = part.mean(axis=0) < 0.3
        counts = part[:, columns].sum(axis=1)
        rows = counts >= max(1, int(_ROW_INK * strip))
        heights += [n for n in _runs(rows) if n >= _MIN_RUN]
    if len(heights) < 3:
        return None
    return float(np.median(heights))


def _runs(rows: Mask) -> list[int]:
    """Lengths of the runs of True."""
    padded = np.concatenate(([False], rows, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [int(n) for n in edges[1::2] - edges[0::2]]


def _block(ink: Mask) -> tuple[float, float]:
    """Width and height of the text block: where the middle 98% of the ink lies."""
    ys, xs = np.nonzero(ink)
    x0, x1 = np.percentile(xs, (1, 99))
    y0, y1 = np.percentile(ys, (1, 99))
    return float(x1 - x0), float(y1 - y0)


def _noise(raw: Gray, ink: Mask) -> float:
    """Grey-level noise on the paper, from neighbour differences away from ink."""
    paper = ~ink[:, 1:] & ~ink[:, :-1]
    diffs = np.abs(np.diff(raw, axis=1))[paper]
    if diffs.size == 0:
        return 0.0
    return float(np.median(diffs)) * 1.4826 / math.sqrt(2.0)


# ----------------------------------------------------------------------------- changing


def flatten(gray: Image.Image) -> Image.Image:
    """Paper to white and ink to black: divide by the paper level measured per block,
    then stretch the typical ink level to black."""
    raw = np.asarray(gray, dtype=np.float32)
    background = _upsample(_paper_grid(raw), raw.shape)
    flat = np.clip(raw / np.maximum(background, 1.0) * 255.0, 0.0, 255.0)
    ink = flat < _otsu(flat)
    if not ink.any():
        return Image.fromarray(flat.astype(np.uint8), mode="L")
    low = float(np.percentile(flat[ink], 25))
    high = 250.0
    if high - low < 1.0:
        return Image.fromarray(flat.astype(np.uint8), mode="L")
    stretched = np.clip((flat - low) * (255.0 / (high - low)), 0.0, 255.0)
    return Image.fromarray(stretched.astype(np.uint8), mode="L")
