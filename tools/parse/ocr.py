"""OCR of page images: orientation, boxes back on the page as displayed, a page pool.

Pages are OCR'd once; only a page whose result looks bad (low mean confidence or almost
no words) pays for orientation detection and a second pass on the turned image.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from types import TracebackType

from PIL import Image

from core import metrics, progress, telemetry
from core.settings import OcrSettings
from tools.parse import preprocess, tesseract
from tools.parse.tesseract import TsvWord
from tools.parse.types import ParsedPage, Word

# Fewer words than this also counts as "looks bad" (a sideways page often reads as noise).
_MIN_WORDS = 5
# Grey levels of spread below which a page image counts as blank.
_FLAT = 16
# PIL's transpose that turns an image clockwise by the key's degrees.
_CLOCKWISE = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True, slots=True)
class OcrResult:
    """Words in pixels of the image as given (any turning already undone)."""

    words: list[TsvWord]
    rotation: int
    width: int
    height: int
    # What preprocessing did to the page and why (empty: sent as it was).
    steps: tuple[str, ...] = ()

    @property
    def confidence(self) -> float | None:
        if not self.words:
            return None
        return sum(w.conf for w in self.words) / len(self.words)


def _looks_bad(words: list[TsvWord], threshold: float) -> bool:
    if len(words) < _MIN_WORDS:
        return True
    return sum(w.conf for w in words) / len(words) < threshold


def _is_blank(image: Image.Image) -> bool:
    """A page of one flat shade (an empty PDF page, a blank sheet) has nothing to read."""
    low, high = image.convert("L").getextrema() if image.mode != "L" else image.getextrema()
    return isinstance(low, int | float) and isinstance(high, int | float) and high - low < _FLAT


def _mean(words: list[TsvWord]) -> float:
    return sum(w.conf for w in words) / len(words) if words else 0.0


def unrotate_box(
    box: tuple[float, float, float, float], rotation: int, width: int, height: int
) -> tuple[float, float, float, float]:
    """Map a box from an image turned ``rotation`` degrees clockwise back to the original.

    ``width`` and ``height`` are those of the original image.
    """
    u0, v0, u1, v1 = box
    if rotation == 90:
        xs, ys = (v0, v1), (height - u0, height - u1)
    elif rotation == 180:
        xs, ys = (width - u0, width - u1), (height - v0, height - v1)
    elif rotation == 270:
        xs, ys = (width - v0, width - v1), (u0, u1)
    else:
        return box
    return min(xs), min(ys), max(xs), max(ys)


def read_page(settings: OcrSettings, image: Image.Image, dpi: int | None) -> OcrResult:
    """OCR one page image, prepared by what it needs (``preprocess``) and turned first when
    it looks sideways or upside down. Boxes come back in pixels of ``image``."""
    width, height = image.size
    if _is_blank(image):
        return OcrResult(words=[], rotation=0, width=width, height=height)
    prepared = preprocess.prepare(image) if settings.preprocess else preprocess.as_is(image)
    page, psm, transform = prepared.image, prepared.plan.psm, prepared.transform
    if dpi and transform.scale != 1.0:
        dpi = round(dpi * transform.scale)
    words = tesseract.recognise(settings, page, dpi, psm)
    rotation = 0
    # No words at all is a blank or unreadable page, not a turned one: OSD would fail too.
    if words and _looks_bad(words, settings.orientation_check_below):
        turn = tesseract.detect_rotation(settings, page)
        if turn in _CLOCKWISE:
            turned = tesseract.recognise(settings, page.transpose(_CLOCKWISE[turn]), dpi, psm)
            if _mean(turned) * len(turned) > _mean(words) * len(words):
                rotation = turn
                words = [_unrotate_word(w, turn, page.width, page.height) for w in turned]
    if prepared.plan.changes_image:
        words = [_untransform_word(w, transform, width, height) for w in words]
    return OcrResult(
        words=words, rotation=rotation, width=width, height=height, steps=prepared.plan.reasons
    )


def _untransform_word(
    word: TsvWord, transform: preprocess.Transform, width: int, height: int
) -> TsvWord:
    x0, y0, x1, y1 = transform.box(word.x0, word.y0, word.x1, word.y1)
    x0, x1 = max(0.0, x0), min(float(width), x1)
    y0, y1 = max(0.0, y0), min(float(height), y1)
    return TsvWord(word.text, x0, y0, max(x0, x1), max(y0, y1), word.conf, word.line)


def _traced_read(
    settings: OcrSettings, image: Image.Image, dpi: int | None, number: int | None
) -> OcrResult:
    with telemetry.span("shipdoc.ocr.page", {"shipdoc.page": number}) as span:
        started = time.perf_counter()
        result = read_page(settings, image, dpi)
        metrics.STAGE_SECONDS.labels("ocr_page").observe(time.perf_counter() - started)
        span.set_attribute("shipdoc.ocr.words", len(result.words))
        if result.confidence is not None:
            span.set_attribute("shipdoc.ocr.confidence", round(result.confidence, 2))
        if result.rotation:
            span.set_attribute("shipdoc.ocr.rotation", result.rotation)
        if result.steps:
            span.set_attribute("shipdoc.ocr.preprocess", list(result.steps))
        return result


def _unrotate_word(word: TsvWord, rotation: int, width: int, height: int) -> TsvWord:
    x0, y0, x1, y1 = unrotate_box((word.x0, word.y0, word.x1, word.y1), rotation, width, height)
    return TsvWord(word.text, x0, y0, x1, y1, word.conf, word.line)


def page_text(words: list[TsvWord]) -> str:
    """Words in reading order: lines joined by newlines, a blank line between blocks."""
    parts: list[str] = []
    line: tuple[int, int, int] | None = None
    for word in words:
        if line is None:
            parts.append(word.text)
        elif word.line == line:
            parts.append(" " + word.text)
        else:
            parts.append("\n\n" if word.line[0] != line[0] else "\n")
            parts.append(word.text)
        line = word.line
    return "".join(parts)


def to_page(
    number: int,
    result: OcrResult,
    *,
    page_width: float,
    page_height: float,
    unit: str,
) -> ParsedPage:
    """A ParsedPage whose boxes are scaled from image pixels to the page's own units."""
    sx = page_width / result.width
    sy = page_height / result.height
    words = [
        Word(text=w.text, x0=w.x0 * sx, y0=w.y0 * sy, x1=w.x1 * sx, y1=w.y1 * sy, conf=w.conf)
        for w in result.words
    ]
    return ParsedPage.model_validate(
        {
            "number": number,
            "method": "ocr",
            "text": page_text(result.words),
            "width": page_width,
            "height": page_height,
            "unit": unit,
            "rotation": result.rotation,
            "confidence": result.confidence,
            "words": words,
        }
    )


def worker_count(settings: OcrSettings) -> int:
    return settings.workers if settings.workers > 0 else (os.cpu_count() or 1)


class OcrPool:
    """Runs page OCR in parallel, at most two pages per worker waiting in memory."""

    def __init__(self, settings: OcrSettings) -> None:
        self._settings = settings
        workers = worker_count(settings)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr")
        self._limit = 2 * workers
        self._pending: list[Future[OcrResult]] = []
        self._checked = False
        self._expected: int | None = None
        self._finished = 0
        self._count_lock = threading.Lock()

    def expect(self, pages: int) -> None:
        """How many pages will be submitted: the total of the progress report."""
        self._expected = pages

    def submit(
        self, image: Image.Image, dpi: int | None, number: int | None = None
    ) -> Future[OcrResult]:
        if not self._checked:
            tesseract.ensure_available(self._settings)
            self._checked = True
        self._pending = [f for f in self._pending if not f.done()]
        if len(self._pending) >= self._limit:
            wait(self._pending, return_when=FIRST_COMPLETED)
        # The OCR thread continues the caller's trace (its page span is a child of parse).
        run = contextvars.copy_context().run
        future = self._executor.submit(run, self._read, image, dpi, number)
        self._pending.append(future)
        return future

    def _read(self, image: Image.Image, dpi: int | None, number: int | None) -> OcrResult:
        try:
            return _traced_read(self._settings, image, dpi, number)
        finally:
            with self._count_lock:
                self._finished += 1
                done = self._finished
            total = self._expected
            progress.report(f"OCR of {total or ''} page(s)", done, total, unit="pages")

    def __enter__(self) -> OcrPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
