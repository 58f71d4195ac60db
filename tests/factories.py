"""Generators of test documents (PyMuPDF and Pillow), reusable by every test.

Text is drawn with PyMuPDF's built-in Helvetica; a "scan" is that page rendered to a
grayscale image at 300 dpi and embedded as the only content of a PDF page, so OCR
tests know the exact text and where each word was drawn. ``add_document`` and
``add_record`` write the database rows of a document and its record without the pipeline.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zipfile
import zlib
from datetime import UTC, datetime
from typing import Any

import pymupdf
from PIL import Image
from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.models import Document, Record

_PYMUPDF_OPEN: Any = pymupdf.open
_RECT: Any = pymupdf.Rect

SCAN_DPI = 300
# A small page (5 x 3 inches) keeps OCR at well under a second per page.
SMALL_PAGE = (360.0, 216.0)
MARGIN = 18.0
FONT_SIZE = 9.0
LINE_STEP = 15.0

KNOWN_LINES: tuple[str, ...] = (
    "BILL OF LADING number 4711 shipper Acme Trading GmbH Hamburg",
    "consignee Rotterdam Logistics BV port of loading Hamburg",
    "port of discharge Rotterdam vessel Nordic Star voyage 23",
    "description of goods forty cartons of ceramic tiles",
    "gross weight 1250 kilograms net weight 1100 kilograms",
    "freight prepaid place of issue Hamburg date fifteen March",
    "Rechnung Lieferung Zollanmeldung Verpackung Ursprung Europa",
)
KNOWN_TEXT = "\n".join(KNOWN_LINES)


A4 = (595.0, 842.0)
_VOCABULARY = [
    "invoice",
    "shipper",
    "consignee",
    "notify",
    "party",
    "port",
    "loading",
    "discharge",
    "vessel",
    "voyage",
    "container",
    "seal",
    "gross",
    "net",
    "weight",
    "kilograms",
    "cartons",
    "pallets",
    "description",
    "goods",
    "tariff",
    "origin",
    "Hamburg",
    "Rotterdam",
    "Antwerpen",
    "Le",
    "Havre",
    "Rechnung",
    "Lieferung",
    "Zollanmeldung",
    "Verpackung",
    "Ursprung",
    "Gewicht",
    "Menge",
    "factuur",
    "verzending",
    "douane",
    "facture",
    "livraison",
    "marchandises",
]


def full_page_lines(seed: int = 0, lines: int = 48, words: int = 9) -> tuple[str, ...]:
    """Deterministic filler for an A4 page at 9 pt: about 430 words of shipping vocabulary."""
    rng = random.Random(seed)
    return tuple(
        f"{n + 1:02d} " + " ".join(rng.choice(_VOCABULARY) for _ in range(words))
        for n in range(lines)
    )


def known_words(lines: tuple[str, ...] = KNOWN_LINES) -> list[str]:
    return [w for line in lines for w in line.split()]


def _new_pdf() -> Any:
    return _PYMUPDF_OPEN()


def draw_text_page(
    doc: Any, lines: tuple[str, ...] = KNOWN_LINES, size: tuple[float, float] = SMALL_PAGE
) -> Any:
    page = doc.new_page(width=size[0], height=size[1])
    y = MARGIN + FONT_SIZE
    for line in lines:
        page.insert_text((MARGIN, y), line, fontsize=FONT_SIZE, fontname="helv")
        y += LINE_STEP
    return page


def word_box(word: str, lines: tuple[str, ...] = KNOWN_LINES) -> tuple[float, float, float, float]:
    """Where ``word`` (its first occurrence) is drawn on a text page, in points."""
    doc = _new_pdf()
    page = draw_text_page(doc, lines)
    for w in page.get_text("words"):
        if w[4] == word:
            return (float(w[0]), float(w[1]), float(w[2]), float(w[3]))
    raise KeyError(word)


def text_pdf(
    pages: int = 1,
    lines: tuple[str, ...] = KNOWN_LINES,
    size: tuple[float, float] = SMALL_PAGE,
    rotation: int = 0,
) -> bytes:
    """Pages with a text layer; ``rotation`` sets each page's /Rotate (shown turned)."""
    doc = _new_pdf()
    for _ in range(pages):
        page = draw_text_page(doc, lines, size)
        if rotation:
            page.set_rotation(rotation)
    data: bytes = doc.tobytes()
    return data


def page_image(
    lines: tuple[str, ...] = KNOWN_LINES,
    dpi: int = SCAN_DPI,
    rotate: int = 0,
    size: tuple[float, float] = SMALL_PAGE,
) -> Image.Image:
    """The text page as a grayscale scan; ``rotate`` turns it clockwise (a sideways scan)."""
    doc = _new_pdf()
    page = draw_text_page(doc, lines, size)
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    image = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    return image.rotate(-rotate, expand=True) if rotate else image


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _add_scan_page(doc: Any, image: Image.Image, dpi: int = SCAN_DPI) -> Any:
    width, height = image.width * 72 / dpi, image.height * 72 / dpi
    page = doc.new_page(width=width, height=height)
    page.insert_image(_RECT(0, 0, width, height), stream=_png(image))
    return page


def scanned_pdf(
    rotate: int = 0,
    lines: tuple[str, ...] = KNOWN_LINES,
    pages: int = 1,
    dpi: int = SCAN_DPI,
    page_rotation: int = 0,
) -> bytes:
    """A PDF whose pages are images only (no text layer), as a scanner makes them.

    ``rotate`` turns the scan clockwise; ``page_rotation`` sets /Rotate so a viewer turns
    the page (``rotate=270, page_rotation=90`` is a sideways scan that displays upright).
    """
    doc = _new_pdf()
    for _ in range(pages):
        page = _add_scan_page(doc, page_image(lines, rotate=rotate, dpi=dpi), dpi)
        if page_rotation:
            page.set_rotation(page_rotation)
    data: bytes = doc.tobytes()
    return data


def scans_pdf(images: list[Image.Image], dpi: int = SCAN_DPI) -> bytes:
    """A PDF with one page per image, each image filling its page at ``dpi``."""
    doc = _new_pdf()
    for image in images:
        _add_scan_page(doc, image, dpi)
    data: bytes = doc.tobytes()
    return data


def mixed_pdf() -> bytes:
    """Page 1 has a text layer, page 2 is a scan."""
    doc = _new_pdf()
    draw_text_page(doc)
    _add_scan_page(doc, page_image())
    data: bytes = doc.tobytes()
    return data


def image_bytes(
    fmt: str = "PNG", rotate: int = 0, exif_orientation: int | None = None, dpi: int = SCAN_DPI
) -> bytes:
    """The text page as an image file; ``exif_orientation`` stores the pixels turned and
    tags them so a viewer (and the parser) turns them back (6: rotate 90 clockwise)."""
    image = page_image(rotate=rotate, dpi=dpi)
    buf = io.BytesIO()
    if exif_orientation is not None:
        stored = {
            3: image.rotate(180, expand=True),
            6: image.rotate(90, expand=True),
            8: image.rotate(-90, expand=True),
        }[exif_orientation]
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        stored.save(buf, format=fmt, exif=exif, dpi=(dpi, dpi))
    else:
        image.save(buf, format=fmt, dpi=(dpi, dpi))
    return buf.getvalue()


def tiff_16bit() -> bytes:
    """The text page as a 16-bit grayscale TIFF, as some scanners write them: ink at
    4,000 and paper at 55,000 of 65,535, so clipping to 8 bits would blank the page."""
    wide = page_image().convert("I").point(lambda v: v * 200 + 4000).convert("I;16")
    buf = io.BytesIO()
    wide.save(buf, format="TIFF", dpi=(SCAN_DPI, SCAN_DPI))
    return buf.getvalue()


def tiff_multipage(pages: int = 2) -> bytes:
    images = [page_image() for _ in range(pages)]
    buf = io.BytesIO()
    images[0].save(
        buf, format="TIFF", save_all=True, append_images=images[1:], compression="tiff_lzw"
    )
    return buf.getvalue()


# --- bad input --------------------------------------------------------------------------


def truncated_pdf() -> bytes:
    data = text_pdf(pages=3)
    return data[: len(data) // 2]


def corrupt_pdf() -> bytes:
    return b"%PDF-1.7\n" + bytes(range(256)) * 8


def encrypted_pdf() -> bytes:
    doc = _new_pdf()
    draw_text_page(doc)
    data: bytes = doc.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner"
    )
    return data


def corrupt_page_pdf(bad_page: int = 2, pages: int = 3) -> bytes:
    """A good PDF except page ``bad_page`` (1-based), whose content stream is garbage that
    claims to be Flate-compressed: MuPDF cannot decode that page and only that page."""
    doc = _new_pdf()
    for _ in range(pages):
        draw_text_page(doc)
    xref = doc[bad_page - 1].get_contents()[0]
    doc.update_stream(xref, b"\x00\xff not deflate data ((( BT /F9 Tf", compress=False)
    doc.xref_set_key(xref, "Filter", "/FlateDecode")
    data: bytes = doc.tobytes()
    return data


def corrupt_scan_pdf(bad_page: int = 2, pages: int = 2) -> bytes:
    """Scanned pages; page ``bad_page``'s image holds garbage that claims to be a JPEG.

    Each page shows different text so that no two pages share one image object."""
    doc = _new_pdf()
    for number in range(1, pages + 1):
        _add_scan_page(doc, page_image((f"Page {number} of {pages}", *KNOWN_LINES)))
    xref = doc[bad_page - 1].get_images()[0][0]
    doc.update_stream(xref, b"garbage, not a JPEG" * 20, compress=False)
    doc.xref_set_key(xref, "Filter", "/DCTDecode")
    data: bytes = doc.tobytes()
    return data


def corrupt_frame_tiff(bad_page: int = 2, pages: int = 2) -> bytes:
    """A multi-page TIFF whose page ``bad_page`` has its LZW strip data overwritten."""
    data = bytearray(tiff_multipage(pages))
    image = Image.open(io.BytesIO(bytes(data)))
    image.seek(bad_page - 1)
    offset = int(image.tag_v2[273][0])  # StripOffsets
    data[offset : offset + 3000] = b"\xff" * 3000
    return bytes(data)


def many_pages_pdf(pages: int, blank: bool = False) -> bytes:
    """``pages`` small pages, each with a one-line text layer (no OCR needed) or blank."""
    doc = _new_pdf()
    for number in range(1, pages + 1):
        page = doc.new_page(width=200, height=100)
        if blank:
            continue
        line = f"Packing list page {number} of {pages} for shipment 4711"
        page.insert_text((10, 30), line, fontsize=9)
    data: bytes = doc.tobytes()
    return data


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return buf.getvalue()


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("invoice.txt", "not a document we read")
    return buf.getvalue()


def elf_bytes() -> bytes:
    """The first bytes of a 64-bit little-endian x86-64 Linux executable."""
    ident = b"\x7fELF\x02\x01\x01" + b"\x00" * 9
    header = struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, 0x401000, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    return ident + header + b"\x00" * 64


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bomb_header(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` pixels with almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    data = image_bytes("JPEG")
    return data[: len(data) // 3]


def add_document(session: Session, name: str, status: str, **fields: Any) -> int:
    """A document row named ``name`` (no file behind it); its id."""
    doc = Document(
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        filename=f"{name}.pdf",
        size_bytes=1,
        status=status,
        **fields,
    )
    session.add(doc)
    session.flush()
    return doc.id


def add_record(
    session: Session,
    name: str,
    doc_type: str,
    data: dict[str, Any],
    status: str = "needs_review",
    *,
    doc_status: str | None = None,
) -> int:
    """A document named ``name`` with one record of ``data`` on its page 1; the record's id.
    The document's status is the record's unless ``doc_status`` says otherwise."""
    record = Record(
        document_id=add_document(session, name, doc_status or status),
        page_first=1,
        page_last=1,
        doc_type=doc_type,
        schema_version="1.0",
        data=data,
        status=status,
    )
    session.add(record)
    session.flush()
    return record.id


def add_invoices(session: Session, name: str, invoice: dict[str, Any], n: int) -> int:
    """A document named ``name`` with ``n`` extracted commercial invoices (``invoice``
    numbered ``INV-000000`` upward, one a page), inserted 1,000 rows a statement; its id."""
    doc_id = add_document(session, name, "extracted")
    now = datetime.now(UTC)
    for start in range(0, n, 1000):
        session.execute(
            insert(Record),
            [
                {
                    "document_id": doc_id,
                    "page_first": i + 1,
                    "page_last": i + 1,
                    "doc_type": "commercial_invoice",
                    "schema_version": "1.0",
                    "data": {**invoice, "invoice_number": f"INV-{i:06d}"},
                    "status": "extracted",
                    "issues": [],
                    "provenance": {},
                    "confidence": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(start, min(start + 1000, n))
            ],
        )
    return doc_id
