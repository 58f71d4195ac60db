"""Damaged bytes never escape as a raw exception: a document, or a typed error."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.errors import DependencyMissing, InputError
from core.settings import OcrSettings
from tests import factories
from tools.parse import ParsedDocument, parse_bytes

# No OCR here (it would cost seconds per example): pages that need it raise
# DependencyMissing, which is a typed outcome too.
NO_OCR = OcrSettings(tesseract_cmd="/nonexistent/tesseract")
PDF = factories.text_pdf(pages=2)


def _tiny(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (40, 20), 200).save(buf, format=fmt)
    return buf.getvalue()


IMAGES = [_tiny("PNG"), _tiny("JPEG"), _tiny("TIFF")]


def _damage(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    damaged = bytearray(data[: max(1, cut % (len(data) + 1))])
    for position, value in flips:
        damaged[position % len(damaged)] = value
    return bytes(damaged)


def _parse(data: bytes) -> None:
    try:
        result = parse_bytes(data, ocr=NO_OCR)
    except (InputError, DependencyMissing):
        return
    assert isinstance(result, ParsedDocument)
    assert all(p.error is not None for p in result.failed_pages)


flips = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(0, 1 << 20), flips=flips)
def test_damaged_pdf_gives_document_or_typed_error(cut: int, flips: list[tuple[int, int]]) -> None:
    _parse(_damage(PDF, cut, flips))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 2), cut=st.integers(0, 1 << 20), flips=flips)
def test_damaged_image_gives_document_or_typed_error(
    which: int, cut: int, flips: list[tuple[int, int]]
) -> None:
    _parse(_damage(IMAGES[which], cut, flips))
