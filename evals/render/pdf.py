"""HTML -> PDF (PyMuPDF Story), page footers, stamps, and where each value landed."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pymupdf

from core.records import Provenance
from evals.parsecheck import squash
from evals.render.labels import label
from evals.render.layouts import Parts
from evals.render.view import Cell

# PyMuPDF's annotations are partial; it is used through an Any-typed handle.
_mu: Any = pymupdf

A4 = _mu.paper_rect("a4")
MARGIN = 40


@dataclass(frozen=True)
class Stamp:
    text: str
    angle: float
    color: tuple[float, float, float]


WHERE = _mu.Rect(MARGIN, MARGIN, A4.width - MARGIN, A4.height - MARGIN - 14)


def _fits(html: str) -> bool:
    story = _mu.Story(html=html)
    more, filled = story.place(WHERE)
    return not more and filled[3] <= WHERE.y1 + 0.5


def paginate(parts: Parts, rows: list[list[Cell]]) -> list[str]:
    """One HTML page per printed page: the head on the first, as many item rows as fit on
    each (the table header repeated), the tail on the last."""
    pages: list[str] = []
    start = 0
    head = parts.head
    while True:
        if _fits(parts.wrap(head + parts.table(rows[start:]) + parts.tail)):
            pages.append(parts.wrap(head + parts.table(rows[start:]) + parts.tail))
            return pages
        lo, hi = start, len(rows)  # largest end with rows[start:end] fitting without the tail
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _fits(parts.wrap(head + parts.table(rows[start:mid]))):
                lo = mid
            else:
                hi = mid - 1
        if lo == start and not head:
            raise RuntimeError("a single item row does not fit on a page")
        pages.append(parts.wrap(head + (parts.table(rows[start:lo]) if lo > start else "")))
        start, head = lo, ""
        if len(pages) > 50:
            raise RuntimeError("document does not fit in 50 pages")


def html_pages_to_pdf(pages: list[str]) -> bytes:
    buf = io.BytesIO()
    writer = _mu.DocumentWriter(buf)
    for html in pages:
        story = _mu.Story(html=html)
        device = writer.begin_page(A4)
        story.place(WHERE)
        story.draw(device)
        writer.end_page()
    writer.close()
    return buf.getvalue()


def _draw_stamp(page: Any, stamp: Stamp) -> None:
    width = 11 * len(stamp.text) + 16
    center = _mu.Point(A4.width - MARGIN - width / 2 - 10, A4.height - 120)
    rect = _mu.Rect(center.x - width / 2, center.y - 16, center.x + width / 2, center.y + 16)
    morph = (center, _mu.Matrix(stamp.angle))
    shape = page.new_shape()
    shape.draw_rect(rect)
    shape.finish(color=stamp.color, width=2, morph=morph)
    shape.commit()
    page.insert_text(
        _mu.Point(rect.x0 + 8, center.y + 6),
        stamp.text,
        fontsize=17,
        fontname="hebo",
        color=stamp.color,
        morph=morph,
    )


def finish_pdf(raw: bytes, lang: str, stamp: Stamp | None) -> bytes:
    """Add "Page i / n" footers and an optional stamp; strip dates so bytes are reproducible."""
    doc = _mu.open("pdf", raw)
    n = doc.page_count
    for i, page in enumerate(doc):
        page.insert_text(
            _mu.Point(A4.width / 2 - 25, A4.height - 24),
            f"{label('page', lang)} {i + 1} / {n}",
            fontsize=7,
            fontname="helv",
        )
    if stamp is not None:
        _draw_stamp(doc[n - 1], stamp)
    doc.set_metadata({"producer": "shipdoc evals", "creator": "shipdoc evals"})
    data: bytes = doc.tobytes(garbage=3, deflate=True, no_new_id=True)
    doc.close()
    return data


def locate(pdf: bytes, printed: dict[str, str], with_boxes: bool) -> dict[str, Provenance]:
    """Page (and, for top-level fields, box) where each printed value appears."""
    doc = _mu.open("pdf", pdf)
    pages = [squash(p.get_text()) for p in doc]
    out: dict[str, Provenance] = {}
    for key, text in printed.items():
        needle = squash(text)
        if not needle:
            continue
        page_no = next((i for i, t in enumerate(pages) if needle in t), None)
        box = None
        if with_boxes and page_no is not None and "[" not in key and "\n" not in text:
            hits = doc[page_no].search_for(text)
            if hits:
                r = hits[0]
                box = (round(r.x0, 1), round(r.y0, 1), round(r.x1, 1), round(r.y1, 1))
        out[key] = Provenance(
            page=None if page_no is None else page_no + 1, box=box, source_text=text
        )
    doc.close()
    return out


def page_count(pdf: bytes) -> int:
    doc = _mu.open("pdf", pdf)
    n: int = doc.page_count
    doc.close()
    return n


def concat(parts: list[bytes]) -> bytes:
    out = _mu.open()
    for part in parts:
        src = _mu.open("pdf", part)
        out.insert_pdf(src)
        src.close()
    out.set_metadata({"producer": "shipdoc evals", "creator": "shipdoc evals"})
    data: bytes = out.tobytes(garbage=3, deflate=True, no_new_id=True)
    out.close()
    return data
