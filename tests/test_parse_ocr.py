"""OCR with the real Tesseract: word recall, orientation, boxes on the page as displayed."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from core.errors import DependencyMissing
from core.settings import Limits, OcrSettings, Settings
from tests import factories
from tools.parse import ParsedPage, parse_bytes

pytestmark = pytest.mark.slow

BoxT = tuple[float, float, float, float]


def _norm(words: list[str]) -> Counter[str]:
    cleaned = (re.sub(r"[^\w]", "", w).casefold() for w in words)
    return Counter(w for w in cleaned if w)


def recall(page: ParsedPage) -> float:
    expected = _norm(factories.known_words())
    found = _norm([w.text for w in page.words])
    return sum((expected & found).values()) / sum(expected.values())


def _box_of(page: ParsedPage, text: str) -> BoxT:
    word = next(w for w in page.words if w.text == text)
    return (word.x0, word.y0, word.x1, word.y1)


def _turned(box: BoxT, rotate: int, width: float, height: float) -> BoxT:
    """Where a box on an upright width x height page shows after turning it clockwise."""
    x0, y0, x1, y1 = box
    if rotate == 90:
        return (height - y1, x0, height - y0, x1)
    if rotate == 180:
        return (width - x1, height - y1, width - x0, height - y0)
    if rotate == 270:
        return (y0, width - x1, y1, width - x0)
    return box


def _assert_near(actual: BoxT, expected: BoxT, tolerance: float) -> None:
    # OCR boxes hug the ink; text-layer boxes include the font's ascent and descent.
    assert actual == pytest.approx(expected, abs=tolerance), (actual, expected)


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_scanned_pdf_recall_and_boxes_in_points(settings: Settings, rotate: int) -> None:
    doc = parse_bytes(factories.scanned_pdf(rotate=rotate))
    page = doc.pages[0]
    assert page.method == "ocr" and page.unit == "pt"
    assert page.confidence is not None and page.confidence > 85
    assert recall(page) >= 0.95
    assert page.text.splitlines()[0] == factories.KNOWN_LINES[0]
    if rotate in (180, 270):  # Tesseract's layout analysis reads the 90-degree case itself
        assert page.rotation == (360 - rotate) % 360
    width, height = factories.SMALL_PAGE
    shown = (width, height) if rotate in (0, 180) else (height, width)
    assert (page.width, page.height) == pytest.approx(shown)
    expected = _turned(factories.word_box("Rotterdam"), rotate, width, height)
    _assert_near(_box_of(page, "Rotterdam"), expected, tolerance=4.0)


def test_scan_turned_upright_by_page_rotate_reads_as_displayed(settings: Settings) -> None:
    # Stored sideways, shown upright through /Rotate 90: no orientation pass is needed.
    page = parse_bytes(factories.scanned_pdf(rotate=270, page_rotation=90)).pages[0]
    assert page.method == "ocr" and page.rotation == 0 and recall(page) >= 0.95
    assert (page.width, page.height) == pytest.approx(factories.SMALL_PAGE)
    _assert_near(_box_of(page, "Rotterdam"), factories.word_box("Rotterdam"), tolerance=4.0)


def test_blank_page_is_an_empty_ocr_page(settings: Settings) -> None:
    page = parse_bytes(factories.many_pages_pdf(1, blank=True)).pages[0]
    assert page.method == "ocr" and page.text == "" and page.words == []
    assert page.error is None and page.confidence is None


def test_mixed_pdf_uses_text_layer_then_ocr(settings: Settings) -> None:
    doc = parse_bytes(factories.mixed_pdf())
    assert [p.method for p in doc.pages] == ["text", "ocr"]
    assert all(w.conf is None for w in doc.pages[0].words)
    assert all(w.conf is not None for w in doc.pages[1].words)
    assert recall(doc.pages[1]) >= 0.95


def test_png_words_in_pixels_with_confidence(settings: Settings) -> None:
    doc = parse_bytes(factories.image_bytes("PNG"))
    assert doc.media_type == "image/png"
    page = doc.pages[0]
    assert page.method == "ocr" and page.unit == "px"
    assert (page.width, page.height) == (1500, 900)
    assert recall(page) >= 0.95
    scale = factories.SCAN_DPI / 72
    x0, y0, x1, y1 = factories.word_box("Rotterdam")
    expected = (x0 * scale, y0 * scale, x1 * scale, y1 * scale)
    _assert_near(_box_of(page, "Rotterdam"), expected, tolerance=4.0 * scale)


def test_jpeg_exif_orientation_is_respected(settings: Settings) -> None:
    # Stored sideways, tagged "rotate 90 clockwise to display": parsed as displayed.
    doc = parse_bytes(factories.image_bytes("JPEG", exif_orientation=6))
    page = doc.pages[0]
    assert doc.media_type == "image/jpeg"
    assert (page.width, page.height) == (1500, 900)
    assert page.rotation == 0
    assert recall(page) >= 0.95


def test_multipage_tiff_in_parallel(settings: Settings) -> None:
    doc = parse_bytes(factories.tiff_multipage(3), ocr=OcrSettings(workers=2))
    assert doc.media_type == "image/tiff" and doc.page_count == 3
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert all(p.method == "ocr" and recall(p) >= 0.95 for p in doc.pages)


def test_16bit_tiff_is_scaled_not_clipped(settings: Settings) -> None:
    page = parse_bytes(factories.tiff_16bit()).pages[0]
    assert page.method == "ocr" and recall(page) >= 0.95


def test_oversized_page_is_rendered_below_the_pixel_limit(settings: Settings) -> None:
    # A 150-dpi scan (750x450) would render to 1500x900 at 300 dpi; a 600,000-pixel limit
    # renders the page at 200 dpi instead.
    data = factories.scanned_pdf(dpi=150)
    doc = parse_bytes(data, limits=Limits(max_image_pixels=600_000))
    page = doc.pages[0]
    assert page.method == "ocr" and recall(page) >= 0.95
    _assert_near(_box_of(page, "Rotterdam"), factories.word_box("Rotterdam"), tolerance=4.0)


def test_page_with_an_image_over_the_pixel_limit_fails_alone(settings: Settings) -> None:
    # The scan on page 2 is 1500x900 = 1.35M pixels: it is never decoded under a 1M limit.
    doc = parse_bytes(factories.mixed_pdf(), limits=Limits(max_image_pixels=1_000_000))
    assert [p.method for p in doc.pages] == ["text", "failed"]
    error = doc.pages[1].error
    assert error is not None and error.code == "image_too_large" and "1500x900" in error.message


def test_damaged_scan_fails_only_that_page(settings: Settings) -> None:
    doc = parse_bytes(factories.corrupt_scan_pdf(bad_page=2, pages=2))
    assert [p.method for p in doc.pages] == ["ocr", "failed"]
    error = doc.pages[1].error
    assert error is not None and error.code == "corrupt_page"
    assert recall(doc.pages[0]) >= 0.95


def test_damaged_tiff_page_fails_only_that_page(settings: Settings) -> None:
    doc = parse_bytes(factories.corrupt_frame_tiff(bad_page=2, pages=2))
    assert [p.method for p in doc.pages] == ["ocr", "failed"]
    error = doc.pages[1].error
    assert error is not None and error.code == "corrupt_page"
    assert recall(doc.pages[0]) >= 0.95


def test_ocr_timeout_fails_the_page_not_the_document(settings: Settings) -> None:
    doc = parse_bytes(factories.mixed_pdf(), ocr=OcrSettings(timeout_s=0.01))
    assert [p.method for p in doc.pages] == ["text", "failed"]
    error = doc.pages[1].error
    assert error is not None and error.code == "ocr_timeout"


def test_missing_tesseract_names_the_packages(settings: Settings) -> None:
    ocr = OcrSettings(tesseract_cmd="/nonexistent/tesseract")
    with pytest.raises(DependencyMissing, match=r"apt-get install tesseract-ocr .*-nld"):
        parse_bytes(factories.scanned_pdf(), ocr=ocr)
    with pytest.raises(DependencyMissing, match=r"missing: xyz; .*tesseract-ocr-xyz"):
        parse_bytes(factories.scanned_pdf(), ocr=OcrSettings(languages="eng+xyz"))
    # A text-layer PDF needs no OCR and parses without it.
    assert parse_bytes(factories.text_pdf(), ocr=ocr).pages[0].method == "text"
