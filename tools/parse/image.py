"""Image documents (JPEG, PNG, multi-page TIFF): header checks, EXIF orientation, OCR."""

from __future__ import annotations

import io
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import CorruptDocument, ImageTooLarge, TooManyPages
from core.settings import Limits, OcrSettings
from tools.parse.ocr import OcrPool, OcrResult, to_page
from tools.parse.pages import PendingPage, failed_page, resolve
from tools.parse.types import MediaType, ParsedDocument, ParsedPage

_WARNINGS_LOCK = threading.Lock()
_PIL_FORMAT: dict[MediaType, str] = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/tiff": "TIFF",
}
# What Pillow's decoders raise on damaged headers and data (found by tests/test_parse_fuzz.py).
_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    TypeError,
    KeyError,
    IndexError,
    ZeroDivisionError,
    struct.error,
)
# Resolution metadata outside this range is noise; Tesseract then estimates its own.
_PLAUSIBLE_DPI = range(70, 2401)


@contextmanager
def _pillow_guard() -> Iterator[None]:
    """Pillow's bomb warning becomes a refusal; its other warnings (odd EXIF) are noise.

    ``warnings.catch_warnings()`` swaps process-wide filters, so Pillow work is held to
    one thread at a time and the filters are restored before any OCR wait.
    """
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLarge(f"the image is too large to decode safely ({exc})") from exc


def parse_image(
    data: bytes, media_type: MediaType, limits: Limits, ocr: OcrSettings
) -> ParsedDocument:
    with _pillow_guard():
        image = _open(data, media_type, limits)
        count = _frame_count(image, media_type, limits)
        _check_sizes(image, count, limits)
    with OcrPool(ocr) as pool:
        pool.expect(count)
        pending = [_start_frame(image, index, count, pool) for index in range(count)]
        pages = [resolve(i + 1, p) for i, p in enumerate(pending)]
    return ParsedDocument(media_type=media_type, page_count=len(pages), pages=pages)


def _open(data: bytes, media_type: MediaType, limits: Limits) -> Image.Image:
    """Read only the header: nothing is decoded before the size check."""
    try:
        return Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[media_type]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(
            f"the image is too large to decode safely ({exc}); "
            f"at most {limits.max_image_pixels:,} pixels are accepted"
        ) from exc
    except (UnidentifiedImageError, *_DECODE_ERRORS) as exc:
        raise CorruptDocument(f"the image cannot be read ({exc})") from exc


def _frame_count(image: Image.Image, media_type: MediaType, limits: Limits) -> int:
    if media_type != "image/tiff":
        return 1
    try:
        count = int(getattr(image, "n_frames", 1))
    except _DECODE_ERRORS as exc:
        raise CorruptDocument(f"the TIFF's page directory cannot be read ({exc})") from exc
    if count > limits.max_pages:
        raise TooManyPages(f"the TIFF has {count} pages; at most {limits.max_pages} are accepted")
    return count


def _check_sizes(image: Image.Image, count: int, limits: Limits) -> None:
    for index in range(count):
        try:
            image.seek(index)
        except _DECODE_ERRORS:
            continue  # this page fails on its own later
        width, height = image.size
        if width * height > limits.max_image_pixels:
            where = f"page {index + 1} is" if count > 1 else "the image is"
            raise ImageTooLarge(
                f"{where} {width}x{height} pixels ({width * height:,}); "
                f"at most {limits.max_image_pixels:,} pixels are accepted"
            )


def _start_frame(image: Image.Image, index: int, count: int, pool: OcrPool) -> PendingPage:
    number = index + 1
    try:
        with _pillow_guard():
            image.seek(index)
            dpi = _dpi(image)
            upright = ImageOps.exif_transpose(image)
            gray = to_gray(upright)
            gray.load()
    except _DECODE_ERRORS as exc:
        if count == 1:
            raise CorruptDocument(f"the image cannot be decoded ({exc})") from exc
        return failed_page(number, "corrupt_page", f"page {number} cannot be decoded: {exc}")
    width, height = float(gray.width), float(gray.height)

    def build(result: OcrResult) -> ParsedPage:
        return to_page(number, result, page_width=width, page_height=height, unit="px")

    return pool.submit(gray, dpi, number), build


def to_gray(image: Image.Image) -> Image.Image:
    """8-bit grayscale; 16-bit and float scans are scaled, not clipped to white."""
    if image.mode == "L":
        return image
    if image.mode.startswith(("I", "F")):
        wide = image.convert("F")
        _low, high = wide.getextrema()
        if isinstance(high, int | float) and high > 255:
            return wide.point(lambda v: v * (255.0 / float(high))).convert("L")
    return image.convert("L")


def _dpi(image: Image.Image) -> int | None:
    info = image.info.get("dpi")
    if not isinstance(info, tuple) or not info:
        return None
    try:
        dpi = round(float(info[0]))
    except (TypeError, ValueError):
        return None
    return dpi if dpi in _PLAUSIBLE_DPI else None
