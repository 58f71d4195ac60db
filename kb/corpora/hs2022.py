"""HS2022: chapters, headings and every 6-digit subheading with its parent chain.

Passages put the entry's own title first, then its heading, chapter and section, so a
subheading titled "Other" still says what it is. ``exclusions`` reads the goods a title
excludes ("other than sports footwear", "(excluding ...)"); ``without_exclusions`` is the
title without them.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kb.chunks import Chunk

SOURCE = "hs2022"
_NOT_A_CLASS = {"TOTAL", "99", "9999", "999999"}


@dataclass(frozen=True)
class HsEntry:
    code: str
    title: str
    level: int
    parent: str
    section: str


@dataclass(frozen=True)
class HsTable:
    entries: dict[str, HsEntry]
    sections: dict[str, str]

    def chain(self, code: str) -> list[HsEntry]:
        """The entry and its ancestors, chapter first."""
        out: list[HsEntry] = []
        current = self.entries.get(code)
        while current is not None:
            out.append(current)
            current = self.entries.get(current.parent)
        return out[::-1]


@lru_cache(maxsize=4)
def load_table(data_dir: Path) -> HsTable:
    folder = data_dir / "hs2022"
    entries: dict[str, HsEntry] = {}
    with (folder / "harmonized-system.csv").open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            code = row["hscode"].strip()
            if code in _NOT_A_CLASS or row["section"] == "TOTAL":
                continue
            entries[code] = HsEntry(
                code=code,
                title=row["description"].strip(),
                level=int(row["level"]),
                parent=row["parent"].strip(),
                section=row["section"].strip(),
            )
    with (folder / "sections.csv").open(encoding="utf-8-sig", newline="") as fh:
        sections = {r["section"].strip(): r["name"].strip() for r in csv.DictReader(fh)}
    return HsTable(entries=entries, sections=sections)


# "other than X", "excluding X", "except X": a bracketed clause with its brackets; else to
# the next ";" or ")", or to a comma that starts a new qualifier (", of cotton", ", knitted").
_QUALIFIER = (
    r"of|for|with|without|whether|in|not|knitted|woven|containing|having|weighing|put|"
    r"including|but|fresh|frozen|chilled|dried|new|used|other|n\.e\.c|and parts"
)
_EXCLUSION = re.compile(
    r"\(\s*(?:other than|excluding|except|not including)\b[^()]*(?:\([^()]*\)[^()]*)*\)"
    r"|,?\s*\b(?:other than|excluding|except|not including)\b"
    rf"(?:[^;,()]|\([^()]*\)|,(?!\s*(?:{_QUALIFIER})\b))*",
    re.IGNORECASE,
)
_VACUOUS = re.compile(r"^(?:other|others|n\.e\.c\.?|other,? n\.e\.c\.?)$", re.IGNORECASE)


def vacuous(title: str) -> bool:
    """A title that says nothing by itself ("Other", "n.e.c.")."""
    return bool(_VACUOUS.match(title.strip(" .")))


def _tidy(text: str) -> str:
    text = re.sub(r"\s+([,;)])", r"\1", re.sub(r"\s+", " ", text))
    text = re.sub(r"([;,])\s*(?=[;,.]|$)", "", text)
    return text.strip(" ,;")


def without_exclusions(title: str) -> str:
    """The title with its exclusion clauses taken out (the goods it does cover)."""
    out = _tidy(_EXCLUSION.sub("", title))
    return out or title


def exclusions(title: str) -> list[str]:
    """The goods a title excludes: ``"... other than sports footwear"`` -> sports footwear."""
    found = []
    for match in _EXCLUSION.finditer(title):
        words = re.sub(
            r"^[\s,(]*(?:other than|excluding|except|not including)\b",
            "",
            match[0],
            flags=re.IGNORECASE,
        )
        words = _tidy(words.strip(" ()"))
        if words:
            found.append(words)
    return found


def passage(table: HsTable, entry: HsEntry) -> str:
    titles: list[str] = []
    for e in reversed(table.chain(entry.code)):
        if e.title not in titles:
            titles.append(e.title)
    section = table.sections.get(entry.section, "")
    if entry.level == 2 and section:
        titles.append(section)
    return ". ".join(titles)


def chunks(data_dir: Path) -> list[Chunk]:
    table = load_table(data_dir)
    out: list[Chunk] = []
    for entry in table.entries.values():
        chain = table.chain(entry.code)
        out.append(
            Chunk(
                key=f"{SOURCE}:{entry.code}",
                text=passage(table, entry),
                payload={
                    "code": entry.code,
                    "title": entry.title,
                    "level": entry.level,
                    "parents": [e.code for e in chain[:-1]],
                    "path": [f"{e.code} {e.title}" for e in chain],
                    "section": entry.section,
                    "source": SOURCE,
                    "language": "en",
                },
            )
        )
    return out
