"""Bad input: every kind gets its typed error and a one-line message; damaged pages fail alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.errors import (
    CorruptDocument,
    EmptyFile,
    EncryptedDocument,
    FileTooLarge,
    ImageTooLarge,
    InputError,
    TooManyPages,
    UnsupportedType,
)
from core.settings import Limits, Settings
from tests import factories
from tools.parse import detect_media_type, parse_bytes


@pytest.mark.parametrize(
    ("make", "error", "code"),
    [
        (lambda: b"", EmptyFile, "empty_file"),
        (factories.truncated_pdf, CorruptDocument, "corrupt_document"),
        (factories.corrupt_pdf, CorruptDocument, "corrupt_document"),
        (factories.encrypted_pdf, EncryptedDocument, "encrypted_document"),
        (factories.docx_bytes, UnsupportedType, "unsupported_type"),
        (factories.zip_bytes, UnsupportedType, "unsupported_type"),
        (factories.elf_bytes, UnsupportedType, "unsupported_type"),
        (factories.png_bomb_header, ImageTooLarge, "image_too_large"),
        (factories.truncated_jpeg, CorruptDocument, "corrupt_document"),
    ],
    ids=[
        "empty",
        "truncated-pdf",
        "corrupt-pdf",
        "encrypted-pdf",
        "docx",
        "zip",
        "elf",
        "png-50000x50000",
        "truncated-jpeg",
    ],
)
def test_bad_input_raises_its_typed_error(
    settings: Settings, make: Callable[[], bytes], error: type[InputError], code: str
) -> None:
    with pytest.raises(error) as info:
        parse_bytes(make())
    assert info.value.code == code
    assert "\n" not in str(info.value) and str(info.value).startswith(f"{code}: ")


def test_unsupported_types_are_named(settings: Settings) -> None:
    with pytest.raises(UnsupportedType, match="Word document"):
        detect_media_type(factories.docx_bytes())
    with pytest.raises(UnsupportedType, match="ELF executable"):
        detect_media_type(factories.elf_bytes())


def test_pdf_truncated_near_its_end_is_refused(settings: Settings) -> None:
    data = factories.text_pdf(pages=3)
    with pytest.raises(CorruptDocument, match="truncated"):
        parse_bytes(data[:-40])


def test_page_limit(settings: Settings) -> None:
    limits = Limits(max_pages=5)
    assert parse_bytes(factories.many_pages_pdf(5), limits=limits).page_count == 5
    with pytest.raises(TooManyPages, match="6 pages"):
        parse_bytes(factories.many_pages_pdf(6), limits=limits)


def test_file_size_limit(settings: Settings) -> None:
    data = factories.text_pdf()
    assert parse_bytes(data, limits=Limits(max_file_bytes=len(data))).page_count == 1
    with pytest.raises(FileTooLarge):
        parse_bytes(data, limits=Limits(max_file_bytes=len(data) - 1))


def test_image_pixel_limit_is_checked_before_decoding(settings: Settings) -> None:
    # 1500x900 = 1.35M pixels; a 1M limit refuses it from the header alone.
    data = factories.image_bytes("PNG")
    with pytest.raises(ImageTooLarge, match="1500x900"):
        parse_bytes(data, limits=Limits(max_image_pixels=1_000_000))


def test_damaged_content_stream_fails_only_that_page(settings: Settings) -> None:
    doc = parse_bytes(factories.corrupt_page_pdf(bad_page=2, pages=3))
    assert [p.method for p in doc.pages] == ["text", "failed", "text"]
    failed = doc.failed_pages[0]
    assert failed.number == 2
    assert failed.error is not None and failed.error.code == "corrupt_page"
    assert "Rotterdam" in doc.pages[0].text and "Rotterdam" in doc.pages[2].text
