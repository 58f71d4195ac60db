"""HS2022: chapters, headings and every 6-digit subheading with its parent chain.

Passages put the entry's own title first, then what it covers, then its heading, chapter
and section, so a subheading titled "Other" still says what it is:

- a subheading lists the titles of its EU CN 8-digit codes (and CN subheading titles),
  the finer goods it includes ("Of cotton", "Slippers and other indoor footwear");
- a heading lists the distinctive part of its subheadings' titles;
- exclusion clauses ("other than sports footwear", "(excluding ... )") are taken out of
  the embedded text, where an embedding reads them as the goods they exclude; they are
  returned by ``exclusions`` so a lookup can use them as a penalty instead.
"""

from __future__ import annotations

import csv
import json
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
_INCLUDED_MAX_CHARS = 400
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


def _detail(title: str) -> str:
    """The distinctive part of an HS6 title: what follows the heading's short name."""
    _, sep, rest = title.partition(";")
    return rest.strip() if sep and rest.strip() else title


def _joined(parts: list[str], limit: int = _INCLUDED_MAX_CHARS) -> str:
    out: list[str] = []
    seen: set[str] = set()
    size = 0
    for part in parts:
        part = without_exclusions(part).strip(" .")
        key = part.casefold()
        if not part or key in seen or vacuous(part):
            continue
        if size + len(part) > limit:
            break
        seen.add(key)
        out.append(part)
        size += len(part) + 2
    return "; ".join(out)


@lru_cache(maxsize=4)
def cn_titles(data_dir: Path) -> dict[str, list[str]]:
    """HS6 code -> the English titles of its EU CN subheading and 8-digit codes, in order."""
    folder = data_dir / "eu-cn-2026"
    out: dict[str, list[str]] = {}
    if not folder.exists():
        return out
    for name in ("cnSubheadings_2026.json", "cnCodes_2026.json"):
        for row in json.loads((folder / name).read_text(encoding="utf-8")):
            out.setdefault(str(row["code"])[:6], []).append(str(row["name"]).strip())
    return out


def passage(table: HsTable, entry: HsEntry, included: list[str] | None = None) -> str:
    """Own title, the goods it includes (``included``), then heading, chapter (and section)."""
    titles: list[str] = []
    chain = list(reversed(table.chain(entry.code)))
    for n, e in enumerate(chain):
        title = without_exclusions(e.title)
        if n == 1 and included:
            titles.append(_joined(included))
        if title not in titles:
            titles.append(title)
    if len(chain) == 1 and included:
        titles.insert(1, _joined(included))
    section = table.sections.get(entry.section, "")
    if entry.level == 2 and section:
        titles.append(section)
    return ". ".join(t for t in titles if t)


def _included(table: HsTable, data_dir: Path) -> dict[str, list[str]]:
    """What each heading and subheading covers, from the finer titles under it."""
    out: dict[str, list[str]] = {code: list(titles) for code, titles in cn_titles(data_dir).items()}
    for entry in table.entries.values():
        if entry.level == 6:
            out.setdefault(entry.parent, []).append(_detail(entry.title))
    return out


def chunks(data_dir: Path) -> list[Chunk]:
    table = load_table(data_dir)
    included = _included(table, data_dir)
    out: list[Chunk] = []
    for entry in table.entries.values():
        chain = table.chain(entry.code)
        out.append(
            Chunk(
                key=f"{SOURCE}:{entry.code}",
                text=passage(table, entry, included.get(entry.code) if entry.level > 2 else None),
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
