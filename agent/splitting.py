"""Page groups: which consecutive pages of a file make one document.

A page starts a new document when it carries a page-1 cue:

* **page numbering** that restarts: "Page 1 of 3", "1/3", "Seite 1 von 2", "Pagina 1 van 2",
  "Page 1 sur 2"; or a number that does not continue the document before it (a "2 of 3"
  after a "3 of 3", or after more unnumbered pages than it can follow);
* a **title** that names another document type than the document before it;
* a **new document number**: an invoice, B/L, packing-list number or MRN (read by
  ``tools/candidates``, so by its label in EN/DE/NL/FR) other than the one of the pages
  before it;
* a **new date and number pair**: a document number under another label ("Document No",
  "Belegnummer") *and* the document date, both other than the document's;
* a **new header block**: the top of the page repeats the letterhead of the document's
  first page *and* the page before it ended with a total.

A multi-page document repeats its header on every page and prints "Page 2 of 3": numbering
that continues the document (same total, next number) keeps the page in it, whatever the
softer cues say; only a title of another type overrides it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from core.records import DocType
from tools.candidates import Candidate, best, find_candidates
from tools.pagenum import Numbering, numbering
from tools.provenance import PageText

# Fields whose value names one document; another value starts another document.
ID_FIELDS = ("invoice_number", "bl_number", "packing_list_number", "mrn")
_HEAD = 3
_TAIL = 10
_OCR_SAME = str.maketrans({"O": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2"})


@dataclass
class PageCues:
    """What one page says about where it belongs."""

    numbering: Numbering | None
    title: DocType | None
    ids: dict[str, str]
    date: str | None
    doc_number: str | None
    head: str
    ends_with_total: bool


@dataclass
class _Group:
    pages: list[PageText]
    first: PageCues
    title: DocType | None
    ids: dict[str, str] = field(default_factory=dict)
    date: str | None = None
    doc_number: str | None = None
    last_numbered: tuple[Numbering, int] | None = None  # and its index in the group


def _plain(text: str) -> str:
    """Lower case, accents dropped (OCR often loses them), digits and space squashed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"\d+", "#", letters).split())


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _same_id(a: str, b: str) -> bool:
    """Equal, allowing for the characters OCR confuses (O/0, I/1, S/5, B/8)."""

    def norm(x: str) -> str:
        return "".join(c for c in x.upper() if c.isalnum()).translate(_OCR_SAME)

    return norm(a) == norm(b)


def _ends_with_total(page: PageText) -> bool:
    tail = "\n".join(_lines(page.text)[-_TAIL:])
    found = find_candidates([PageText(number=page.number, text=tail)])
    return best(found, "total") is not None


def page_cues(page: PageText, title: DocType | None) -> PageCues:
    found = find_candidates([page.model_copy(update={"words": []})])
    ids = {}
    for name in ID_FIELDS:
        cand = best(found, name)
        if cand is not None:
            ids[name] = str(cand.value)
    return PageCues(
        numbering=numbering(page.text),
        title=title,
        ids=ids,
        date=_value(best(found, "invoice_date")),
        doc_number=_value(best(found, "document_number")),
        head=_plain("\n".join(_lines(page.text)[:_HEAD])),
        ends_with_total=_ends_with_total(page),
    )


def _value(cand: Candidate | None) -> str | None:
    return str(cand.value) if cand is not None else None


def _continues(group: _Group, num: Numbering) -> bool:
    """Does page number ``num`` continue the group's numbering (allowing unnumbered pages)?"""
    if group.last_numbered is None:
        # Page 1 often carries no number: "2 of 3" may follow one unnumbered page, not more.
        return num.page == len(group.pages) + 1
    last, index = group.last_numbered
    if last.of is not None and num.of is not None and last.of != num.of:
        return False
    if last.of is not None and last.page >= last.of:
        return False  # the document before ended on its last page
    return num.page == last.page + (len(group.pages) - index)


def _new_document(group: _Group, cues: PageCues, previous: PageCues) -> bool:
    if cues.title is not None and group.title is not None and cues.title != group.title:
        return True
    if cues.numbering is not None:
        if cues.numbering.page == 1:
            return True
        return not _continues(group, cues.numbering)
    if cues.title is not None and group.title is None:
        return True  # a titled page after untitled ones (a cover letter, terms)
    for name, value in cues.ids.items():
        if name in group.ids and not _same_id(value, group.ids[name]):
            return True
    if (
        cues.date is not None
        and cues.doc_number is not None
        and group.date is not None
        and group.doc_number is not None
        and cues.date != group.date
        and not _same_id(cues.doc_number, group.doc_number)
    ):
        return True
    return (
        previous.ends_with_total
        and bool(cues.head)
        and SequenceMatcher(None, cues.head, group.first.head).ratio() >= 0.85
    )


def split_pages(pages: list[PageText], titles: list[DocType | None]) -> list[list[PageText]]:
    """Consecutive pages per document (``titles``: each page's title type, or None)."""
    groups: list[_Group] = []
    previous: PageCues | None = None
    for page, title in zip(pages, titles, strict=True):
        cues = page_cues(page, title)
        if not groups or previous is None or _new_document(groups[-1], cues, previous):
            groups.append(_Group(pages=[], first=cues, title=title))
        group = groups[-1]
        if cues.numbering is not None:
            group.last_numbered = (cues.numbering, len(group.pages))
        group.pages.append(page)
        for name, value in cues.ids.items():
            group.ids.setdefault(name, value)
        group.title = group.title or title
        group.date = group.date or cues.date
        group.doc_number = group.doc_number or cues.doc_number
        previous = cues
    return [g.pages for g in groups]
