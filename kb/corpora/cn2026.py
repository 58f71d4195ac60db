"""EU Combined Nomenclature 2026: 8-digit codes with English, German and French titles.

One point per code; its passage carries the code title and its subheading title (the
heading when there is none) in the three languages, so that a German or French goods
description can match it, and the HS6 title when the CN subheading's says less ("Other").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from kb.chunks import Chunk
from kb.corpora.hs2022 import load_table, vacuous, without_exclusions

SOURCE = "cn2026"
LANGUAGES = ("en", "de", "fr")


@dataclass(frozen=True)
class CnEntry:
    code: str
    title: str
    subheading: str
    heading: str
    chapter: str
    section: str


def _json(folder: Path, name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((folder / name).read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=4)
def _translations(folder: Path, language: str) -> dict[str, str]:
    path = folder / "translations" / f"messages_{language}.yaml"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as fh:
        data: dict[str, str] = yaml.load(fh, Loader=loader)
    return data


@lru_cache(maxsize=4)
def load_codes(data_dir: Path) -> dict[str, CnEntry]:
    folder = data_dir / "eu-cn-2026"
    return {
        row["code"]: CnEntry(
            code=row["code"],
            title=row["name"].strip(),
            subheading=row["subheading"] or row["code"][:6],
            heading=row["heading"] or row["code"][:4],
            chapter=row["chapter"],
            section=row["section"],
        )
        for row in _json(folder, "cnCodes_2026.json")
    }


def _dedupe(titles: list[str]) -> list[str]:
    out: list[str] = []
    for title in titles:
        if title and title not in out:
            out.append(title)
    return out


def chunks(data_dir: Path) -> list[Chunk]:
    folder = data_dir / "eu-cn-2026"
    headings = {r["code"]: r["name"].strip() for r in _json(folder, "cnHeadings_2026.json")}
    subs = {r["code"]: r["name"].strip() for r in _json(folder, "cnSubheadings_2026.json")}
    chapters = {r["code"]: r["name"].strip() for r in _json(folder, "cnChapters_2026.json")}
    hs = load_table(data_dir).entries
    translations = {lang: _translations(folder, lang) for lang in LANGUAGES if lang != "en"}
    out: list[Chunk] = []
    for entry in load_codes(data_dir).values():
        hs6 = hs.get(entry.code[:6])
        sub = subs.get(entry.subheading) or (hs6.title if hs6 else "")
        hs4 = hs.get(entry.heading)
        heading = headings.get(entry.heading) or (hs4.title if hs4 else "")
        chapter = chapters.get(entry.chapter, "")
        # The heading is left out when a subheading title exists: it is in the HS
        # collection already, and shorter passages embed faster (~10k codes). A CN
        # subheading titled "Other" says nothing: the HS6 title (what the code is a kind
        # of, exclusion clauses taken out) follows it.
        chain = (entry.title, sub) if sub else (entry.title, heading)
        english = _dedupe([t for t in chain if not vacuous(t)])
        if hs6 is not None and sub != hs6.title:
            english = _dedupe([*english, without_exclusions(hs6.title)])
        parts = [". ".join(english)]
        titles = {"en": entry.title}
        for lang, table in translations.items():
            local = _dedupe([table[t] for t in chain if t in table and not vacuous(t)])
            if local:
                parts.append(". ".join(local))
            if entry.title in table:
                titles[lang] = table[entry.title]
        path = [
            f"{entry.chapter} {chapter.capitalize()}",
            f"{entry.heading} {heading}",
            f"{entry.code[:6]} {sub}",
            f"{entry.code} {entry.title}",
        ]
        out.append(
            Chunk(
                key=f"{SOURCE}:{entry.code}",
                text=" | ".join(parts),
                payload={
                    "code": entry.code,
                    "title": entry.title,
                    "titles": titles,
                    "level": 8,
                    "parents": [entry.chapter, entry.heading, entry.code[:6]],
                    "path": path,
                    "section": entry.section,
                    "source": SOURCE,
                    "language": list(LANGUAGES),
                },
            )
        )
    return out
