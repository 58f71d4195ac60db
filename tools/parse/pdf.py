"""PDF pages: the text layer where there is one, OCR of a rendering where there is not.

MuPDF repairs what it can and reports the rest as warnings rather than exceptions, so a
page whose content cannot be decoded is recognised by the warnings it leaves behind.
"""

from __future__ import annotations

import gc
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import groupby
from operator import itemgetter
from typing import Any

import pymupdf
from PIL import Image

from core import telemetry
from core.errors import CorruptDocument, EncryptedDocument, TooManyPages
from core.settings import Limits, OcrSettings
from tools.parse.ocr import OcrPool, OcrResult, to_page
from tools.parse.pages import PendingPage, failed_page, resolve
from tools.parse.types import ParsedDocument, ParsedPage, Word

# MuPDF warnings that mean a page's content (its stream or a scanned image) was lost.
_CONTENT_ERRORS = ("library error", "is not a stream", "cannot load", "cannot decode", "read error")
_MUPDF_ERRORS = (RuntimeError, ValueError, pymupdf.mupdf.FzErrorBase)
# A complete PDF ends with %%EOF; a repaired file without one was cut off.
_EOF_WINDOW = 2048

# PyMuPDF's annotations are partial; its entry points are used through Any-typed handles.
_TOOLS: Any = pymupdf.TOOLS
_OPEN: Any = pymupdf.open
_RECT: Any = pymupdf.Rect

_MUPDF_LOCK = threading.Lock()

RawWord = tuple[float, float, float, float, str, int, int, int]


def _quiet_mupdf() -> None:
    _TOOLS.mupdf_display_errors(False)
    _TOOLS.mupdf_display_warnings(False)


def _content_error() -> str | None:
    """The first content-losing warning MuPDF logged since the last call, if any."""
    log: str = _TOOLS.mupdf_warnings(reset=True)
    for line in log.splitlines():
        if any(marker in line for marker in _CONTENT_ERRORS):
            return line.strip()
    return None


def open_pdf(data: bytes, limits: Limits) -> Any:
    """Open and vet a PDF: readable, complete, not password-protected, within the page limit."""
    _quiet_mupdf()
    _TOOLS.mupdf_warnings(reset=True)
    try:
        doc = _OPEN(stream=data, filetype="pdf")
    except _MUPDF_ERRORS as exc:
        raise CorruptDocument(f"the PDF cannot be read ({_one_line(exc)})") from exc
    if doc.needs_pass:
        doc.close()
        raise EncryptedDocument("the PDF is password-protected; upload an unencrypted copy")
    if doc.is_repaired and b"%%EOF" not in data[-_EOF_WINDOW:]:
        doc.close()
        raise CorruptDocument("the PDF is truncated (its end is missing); upload the whole file")
    claimed = _claimed_pages(doc)
    if claimed is not None and claimed > limits.max_pages:
        doc.close()
        raise TooManyPages(
            f"the PDF claims {claimed} pages; at most {limits.max_pages} are accepted"
        )
    try:
        count = doc.page_count
    except _MUPDF_ERRORS as exc:
        doc.close()
        raise CorruptDocument(f"the PDF's page tree cannot be read ({_one_line(exc)})") from exc
    if count == 0:
        doc.close()
        raise CorruptDocument("the PDF has no readable pages")
    if count > limits.max_pages:
        doc.close()
        raise TooManyPages(f"the PDF has {count} pages; at most {limits.max_pages} are accepted")
    _TOOLS.mupdf_warnings(reset=True)
    return doc


def _claimed_pages(doc: Any) -> int | None:
    """The page count the page tree's root claims (``/Count``), read without loading it."""
    try:
        kind, ref = doc.xref_get_key(doc.pdf_catalog(), "Pages")
        if kind != "xref":
            return None
        kind, count = doc.xref_get_key(int(ref.split()[0]), "Count")
        return int(count) if kind == "int" else None
    except (*_MUPDF_ERRORS, IndexError):
        return None


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cycle collector while the text layer of every page is read.

    A text page makes hundreds of small Word objects and none of them form cycles, yet
    the allocation bursts trigger collections that rescan the words of earlier pages.
    CPU ratio to bare PyMuPDF on a 200-page PDF: 0.32-0.45 without a pause, 0.36-0.52
    pausing per page, 0.48-0.61 pausing for the whole pass. Reference counting still
    frees everything; the collector resumes (if it was on) before any OCR starts.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_pdf(data: bytes, limits: Limits, ocr: OcrSettings) -> ParsedDocument:
    # PyMuPDF is not thread-safe and its warning log is global: one PDF at a time.
    with _MUPDF_LOCK:
        doc = open_pdf(data, limits)
        try:
            # First every page's text layer (fast), then OCR for the pages without one.
            with _gc_paused():
                layer = [_text_layer_page(doc, index, limits) for index in range(doc.page_count)]
            with OcrPool(ocr) as pool:
                pool.expect(sum(page is None for page in layer))
                pending = [
                    page if page is not None else _start_ocr(doc, index, limits, pool)
                    for index, page in enumerate(layer)
                ]
                pages = [resolve(i + 1, p) for i, p in enumerate(pending)]
        finally:
            doc.close()
    return ParsedDocument(media_type="application/pdf", page_count=len(pages), pages=pages)


def _text_layer_page(doc: Any, index: int, limits: Limits) -> ParsedPage | None:
    """The page from its text layer, a failed page, or None when it needs OCR."""
    number = index + 1
    with telemetry.span("shipdoc.parse.page", {"shipdoc.page": number}) as span:
        page = _layer_or_none(doc, index, limits)
        span.set_attribute("shipdoc.page.method", "ocr" if page is None else page.method)
        return page


def _layer_or_none(doc: Any, index: int, limits: Limits) -> ParsedPage | None:
    number = index + 1
    try:
        page = doc.load_page(index)
        words: list[RawWord] = page.get_text("words")
        error = _content_error()
        if error is not None:
            return failed_page(number, "corrupt_page", f"page {number} is damaged: {error}")
        if _has_text(words, limits.min_text_chars):
            return _text_page(page, number, words)
    except _MUPDF_ERRORS as exc:
        return failed_page(number, "corrupt_page", f"page {number} is damaged: {_one_line(exc)}")
    return None


def _start_ocr(doc: Any, index: int, limits: Limits, pool: OcrPool) -> PendingPage:
    """Render the page and queue its OCR (or fail it if it cannot be rendered safely)."""
    number = index + 1
    try:
        page = doc.load_page(index)
        too_large = _oversized_image(page, limits.max_image_pixels)
        if too_large is not None:
            return failed_page(number, "image_too_large", f"page {number} {too_large}")
        image, dpi = _render(page, limits)
        error = _content_error()
        if error is not None:
            return failed_page(number, "corrupt_page", f"page {number} is damaged: {error}")
        width, height = float(page.rect.width), float(page.rect.height)
    except _MUPDF_ERRORS as exc:
        return failed_page(number, "corrupt_page", f"page {number} is damaged: {_one_line(exc)}")

    def build(result: OcrResult) -> ParsedPage:
        return to_page(number, result, page_width=width, page_height=height, unit="pt")

    return pool.submit(image, dpi, number), build


def _has_text(words: Sequence[RawWord], min_chars: int) -> bool:
    count = 0
    for word in words:
        count += sum(map(str.isalnum, word[4]))
        if count >= min_chars:
            return True
    return False


def _oversized_image(page: Any, max_pixels: int) -> str | None:
    """Why the page must not be rendered: an embedded image above the pixel limit
    (decoding it is the memory bomb, whatever the rendering resolution)."""
    for info in page.get_images():
        width, height = int(info[2]), int(info[3])
        if width * height > max_pixels:
            return (
                f"holds a {width}x{height}-pixel image ({width * height:,}); "
                f"at most {max_pixels:,} pixels are decoded"
            )
    return None


def _render(page: Any, limits: Limits) -> tuple[Image.Image, int]:
    """A grayscale rendering at ``ocr_dpi``, lowered if the page would exceed the pixel limit."""
    dpi = limits.ocr_dpi
    pixels = (page.rect.width * dpi / 72) * (page.rect.height * dpi / 72)
    if pixels > limits.max_image_pixels:
        dpi = max(1, int(dpi * math.sqrt(limits.max_image_pixels / pixels)))
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    return Image.frombytes("L", (pix.width, pix.height), pix.samples), dpi


def _text_page(page: Any, number: int, words: list[RawWord]) -> ParsedPage:
    if page.rotation:
        # Text extraction reports unrotated coordinates; turn them as the page is shown.
        matrix = page.rotation_matrix
        boxes = [_RECT(w[:4]) * matrix for w in words]
        word_list = [Word(w[4], b.x0, b.y0, b.x1, b.y1) for w, b in zip(words, boxes, strict=True)]
    else:
        word_list = [Word(w[4], w[0], w[1], w[2], w[3]) for w in words]
    rect = page.rect
    # Built from PyMuPDF's own values: nothing to validate, and validating every word was
    # most of the parser's overhead over PyMuPDF.
    return ParsedPage.model_construct(
        number=number,
        method="text",
        text=_layer_text(words),
        width=float(rect.width),
        height=float(rect.height),
        unit="pt",
        words=word_list,
    )


def _layer_text(words: list[RawWord]) -> str:
    """Words joined by spaces, lines by newlines, blocks by a blank line."""
    blocks = []
    for _, block in groupby(words, key=itemgetter(5)):
        lines = (" ".join(w[4] for w in line) for _, line in groupby(block, key=itemgetter(6)))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
