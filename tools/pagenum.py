"""Printed page numbers ("Page 2 of 3", "Seite 1 von 2", "1/3"): read once, for the page
splitter (a restart starts a document) and the table reader (a footer ends a table)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PAGE_WORD = r"(?:page|pg\.?|p\.|seite|blatt|pagina|página|blad|feuille|folio)"
_OF = r"(?:of|von|van|de|sur|/|\|)"
# "Page 2 of 3" anywhere in a line; "Page 2" or "2 / 3" only as a line of its own.
_NUMBERED = re.compile(rf"\b{_PAGE_WORD}\s*(\d{{1,3}})\s*{_OF}\s*(\d{{1,3}})\b", re.IGNORECASE)
_PAGE_ALONE = re.compile(rf"^\s*{_PAGE_WORD}\s*(\d{{1,3}})\s*$", re.IGNORECASE)
_BARE = re.compile(rf"^\s*(\d{{1,3}})\s*{_OF}\s*(\d{{1,3}})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Numbering:
    page: int
    of: int | None


def line_numbering(line: str) -> Numbering | None:
    """The page number one line prints, if the line is a page number."""
    return _numbered(line) or _alone(line)


def numbering(text: str) -> Numbering | None:
    """The page's own number (and the document's page count when printed).

    "Page N of M" anywhere on the page wins over a bare "Page N" or "N / M" line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for read in (_numbered, _alone):
        if found := next((n for line in lines if (n := read(line))), None):
            return found
    return None


def _numbered(line: str) -> Numbering | None:
    if match := _NUMBERED.search(line):
        found = Numbering(int(match.group(1)), int(match.group(2)))
        if 1 <= found.page <= (found.of or 0):
            return found
    return None


def _alone(line: str) -> Numbering | None:
    if (match := _PAGE_ALONE.match(line)) and int(match.group(1)) >= 1:
        return Numbering(int(match.group(1)), None)
    if (match := _BARE.match(line)) and 1 <= int(match.group(1)) <= int(match.group(2)) <= 99:
        return Numbering(int(match.group(1)), int(match.group(2)))
    return None
