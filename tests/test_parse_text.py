"""PDF text layer: text and word boxes in PDF points, media type detection."""

from __future__ import annotations

import pytest

from core.settings import Settings
from tests import factories
from tools.parse import detect_media_type, parse_bytes


def test_detects_type_from_bytes_not_names(settings: Settings) -> None:
    assert detect_media_type(factories.text_pdf()) == "application/pdf"
    assert detect_media_type(factories.image_bytes("PNG")) == "image/png"
    assert detect_media_type(factories.image_bytes("JPEG")) == "image/jpeg"
    assert detect_media_type(factories.tiff_multipage(2)) == "image/tiff"
    # A PDF header after some leading junk is still a PDF.
    assert detect_media_type(b"\r\n" + factories.text_pdf()) == "application/pdf"


def test_text_layer_words_and_boxes(settings: Settings) -> None:
    doc = parse_bytes(factories.text_pdf(pages=2))
    assert doc.media_type == "application/pdf"
    assert doc.page_count == 2
    page = doc.pages[0]
    assert page.method == "text" and page.unit == "pt" and page.confidence is None
    assert (page.width, page.height) == factories.SMALL_PAGE
    assert page.text.splitlines()[0] == factories.KNOWN_LINES[0]
    assert [w.text for w in page.words] == factories.known_words()
    rotterdam = next(w for w in page.words if w.text == "Rotterdam")
    assert (rotterdam.x0, rotterdam.y0, rotterdam.x1, rotterdam.y1) == pytest.approx(
        factories.word_box("Rotterdam"), abs=0.01
    )


def test_rotated_page_boxes_are_in_displayed_coordinates(settings: Settings) -> None:
    parsed = parse_bytes(factories.text_pdf(rotation=90))
    page = parsed.pages[0]
    width, height = factories.SMALL_PAGE
    assert (page.width, page.height) == (height, width)
    x0, y0, x1, y1 = factories.word_box("Rotterdam")
    # Turned 90 degrees clockwise: (x, y) on the unrotated page shows at (height - y, x).
    word = next(w for w in page.words if w.text == "Rotterdam")
    assert (word.x0, word.y0, word.x1, word.y1) == pytest.approx(
        (height - y1, x0, height - y0, x1), abs=0.01
    )
