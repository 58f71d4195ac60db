"""Document parsing: bytes in, a typed ParsedDocument (page text, word boxes) out.

The type is judged from the bytes. PDF pages use their text layer; pages without one,
and images, are OCR'd with Tesseract in parallel. Bad input raises the typed errors of
``core.errors``; a single damaged page fails only itself (``ParsedPage.method == "failed"``).
"""

from __future__ import annotations

from core.errors import FileTooLarge
from core.settings import Limits, OcrSettings, get_settings
from tools.parse.detect import detect_media_type
from tools.parse.image import parse_image
from tools.parse.pdf import parse_pdf
from tools.parse.types import MediaType, PageError, ParsedDocument, ParsedPage, Word

__all__ = [
    "MediaType",
    "PageError",
    "ParsedDocument",
    "ParsedPage",
    "Word",
    "detect_media_type",
    "parse_bytes",
]


def parse_bytes(
    data: bytes, *, limits: Limits | None = None, ocr: OcrSettings | None = None
) -> ParsedDocument:
    """Parse a PDF, JPEG, PNG or TIFF document held in memory.

    ``limits`` and ``ocr`` default to ``core.settings.get_settings()``. Raises
    ``core.errors.InputError`` subclasses for unacceptable input and
    ``DependencyMissing`` when OCR is needed but Tesseract is not installed.
    """
    if limits is None or ocr is None:
        settings = get_settings()
        limits = limits or settings.limits
        ocr = ocr or settings.ocr
    if data and len(data) > limits.max_file_bytes:
        raise FileTooLarge(
            f"the file is {len(data):,} bytes; at most {limits.max_file_bytes:,} are accepted"
        )
    media_type = detect_media_type(data)
    if media_type == "application/pdf":
        return parse_pdf(data, limits, ocr)
    return parse_image(data, media_type, limits, ocr)
