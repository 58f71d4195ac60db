"""Decide a document's media type from its first bytes, never from a file name."""

from __future__ import annotations

from core.errors import EmptyFile, UnsupportedType
from tools.parse.types import MediaType

# A PDF header may follow a little junk (the spec's readers look in the first 1024 bytes).
_PDF_HEADER_WINDOW = 1024

_SIGNATURES: tuple[tuple[bytes, MediaType], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)

# Formats we recognise only to name them in the refusal.
_KNOWN_OTHERS: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows executable"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office document (doc/xls)"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II+\x00", "a BigTIFF image"),
    (b"MM\x00+", "a BigTIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
)

SUPPORTED = "PDF, JPEG, PNG or TIFF"


def detect_media_type(data: bytes) -> MediaType:
    """Return the media type of ``data`` judged by its magic bytes.

    Raises ``EmptyFile`` for no bytes and ``UnsupportedType`` for anything that is not
    a PDF, JPEG, PNG or TIFF.
    """
    if not data:
        raise EmptyFile("the file is empty (0 bytes)")
    for magic, media_type in _SIGNATURES:
        if data.startswith(magic):
            return media_type
    if b"%PDF-" in data[:_PDF_HEADER_WINDOW]:
        return "application/pdf"
    raise UnsupportedType(f"{describe(data)} is not supported; upload a {SUPPORTED} file")


def describe(data: bytes) -> str:
    """A short human name for an unsupported file, from its first bytes."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        head = data[:4096]
        if b"word/" in head:
            return "a Word document (docx)"
        if b"xl/" in head:
            return "an Excel workbook (xlsx)"
        if b"ppt/" in head:
            return "a PowerPoint file (pptx)"
        return "a ZIP archive"
    for magic, name in _KNOWN_OTHERS:
        if data.startswith(magic):
            return name
    if _looks_like_text(data[:2048]):
        return "a plain-text file"
    return "this file type"


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off at the end of the sample is still text.
        if exc.start < len(head) - 3:
            return False
    return b"\x00" not in head
