"""Collecting page results in order: finished pages, OCR futures and page failures."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

from tools.parse.ocr import OcrResult
from tools.parse.tesseract import PageFailure
from tools.parse.types import PageError, ParsedPage

PendingPage = ParsedPage | tuple[Future[OcrResult], Callable[[OcrResult], ParsedPage]]


def failed_page(number: int, code: str, message: str) -> ParsedPage:
    return ParsedPage(number=number, method="failed", error=PageError(code=code, message=message))


def resolve(number: int, pending: PendingPage) -> ParsedPage:
    """Wait for a page's OCR if it has one; an OCR failure fails only that page."""
    if isinstance(pending, ParsedPage):
        return pending
    future, build = pending
    try:
        return build(future.result())
    except PageFailure as failure:
        return failed_page(number, failure.code, failure.message)
