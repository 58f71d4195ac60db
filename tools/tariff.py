"""Tariff lookup for the agent: ranked HS6 candidates with their chapter > heading path.

``lookup_tariff`` fuses several retrievals (reciprocal-rank style): HS2022 subheadings
directly, their headings and chapters (a strong heading lifts all of its subheadings,
the "chapter-level context" that lets an entry titled "Other" be found), and the EU CN
2026 codes with German and French titles (mapped back to their HS6), so a description in
another language still reaches the right code. ``hs_code_exists`` reads the tariff tables
directly and needs no embedder.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.settings import Settings, get_settings
from kb import index
from kb.corpora.cn2026 import load_codes
from kb.corpora.hs2022 import load_table
from kb.ingest import data_dir
from kb.search import MAX_QUERY_CHARS, get_kb

# Fusion weights (reciprocal rank, k=_K), measured on evals/golden/retrieval.jsonl.
_K = 10.0
_W_SUBHEADING = 1.0
_W_HEADING = 0.6
_W_CHAPTER = 0.2
_W_CN = 0.8
_DEPTH_HS = 60
_DEPTH_CN = 40


class LookupTariffArgs(BaseModel):
    """Arguments of the ``lookup_tariff`` tool."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(
        min_length=1, max_length=MAX_QUERY_CHARS, description="goods description as printed"
    )
    origin: str | None = Field(
        default=None, description="ISO 3166 alpha-2 country of origin, if known"
    )
    top_k: int = Field(default=10, ge=1, le=50, description="number of candidates")

    @field_validator("origin")
    @classmethod
    def _iso_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise ValueError("origin must be an ISO 3166 alpha-2 code such as CN or DE")
        return value


class TariffCandidate(BaseModel):
    """One candidate code for a goods description."""

    code: str
    title: str
    level: int
    path: list[str]
    score: float
    source: str
    origin: str | None = None

    @property
    def path_text(self) -> str:
        """``chapter > heading > subheading``."""
        return " > ".join(self.path)


def lookup_tariff(
    description: str,
    origin: str | None = None,
    top_k: int = 10,
    *,
    settings: Settings | None = None,
) -> list[TariffCandidate]:
    """Ranked HS2022 subheading candidates for a goods description.

    Classification does not depend on origin; ``origin`` is validated and carried on each
    candidate so the caller can look up origin-specific rules next.
    """
    args = LookupTariffArgs(description=description, origin=origin, top_k=top_k)
    settings = settings or get_settings()
    scores = fused_scores(args.description, settings)
    table = load_table(data_dir(settings))
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[: args.top_k]
    return [
        TariffCandidate(
            code=code,
            title=table.entries[code].title,
            level=6,
            path=[f"{e.code} {e.title}" for e in table.chain(code)],
            score=round(score, 6),
            source="hs2022",
            origin=args.origin,
        )
        for code, score in ranked
    ]


def fused_scores(description: str, settings: Settings) -> dict[str, float]:
    """HS6 code -> fused score from subheading, heading, chapter and CN evidence."""
    kb = get_kb(settings)
    table = load_table(data_dir(settings))
    children = _children(data_dir(settings))
    scores: dict[str, float] = defaultdict(float)
    for rank, point in enumerate(kb.points(description, corpus="hs2022", top=_DEPTH_HS)):
        code = str(point.payload["code"])
        level = int(point.payload["level"])
        if level == 6:
            scores[code] += _W_SUBHEADING / (_K + rank)
        else:
            weight = _W_HEADING if level == 4 else _W_CHAPTER
            for child in children.get(code, ()):
                scores[child] += weight / (_K + rank)
    if index.exists(index.open_client(settings), index.collection_name(settings.kb, "cn2026")):
        seen: set[str] = set()
        for rank, point in enumerate(kb.points(description, corpus="cn2026", top=_DEPTH_CN)):
            hs6 = str(point.payload["code"])[:6]
            if hs6 in table.entries and hs6 not in seen:
                seen.add(hs6)
                scores[hs6] += _W_CN / (_K + rank)
    return scores


@lru_cache(maxsize=4)
def _children(folder: Path) -> dict[str, tuple[str, ...]]:
    """Chapter or heading code -> its HS6 subheadings."""
    table = load_table(folder)
    out: dict[str, list[str]] = defaultdict(list)
    for entry in table.entries.values():
        if entry.level == 6:
            for ancestor in table.chain(entry.code)[:-1]:
                out[ancestor.code].append(entry.code)
    return {k: tuple(v) for k, v in out.items()}


def hs_code_exists(code: str, *, settings: Settings | None = None) -> bool:
    """Whether a code exists at its own level: 2/4/6 digits in HS2022, 8 in EU CN 2026.

    Spaces and dots are ignored (``8712.00`` is ``871200``); other lengths are False.
    """
    digits = re.sub(r"[\s.]", "", code)
    if not digits.isdigit():
        return False
    folder = data_dir(settings or get_settings())
    if len(digits) in (2, 4, 6):
        return digits in load_table(folder).entries
    if len(digits) == 8:
        return digits in load_codes(folder)
    return False


def _kb_lookup(mode: index.Mode) -> Callable[[], Callable[[str], list[str]]]:
    def factory() -> Callable[[str], list[str]]:
        kb = get_kb(get_settings())

        def lookup(text: str) -> list[str]:
            return [h.code for h in kb.search(text, level=6, top=10, mode=mode)]

        return lookup

    return factory


def _fused_lookup() -> Callable[[str], list[str]]:
    settings = get_settings()
    return lambda text: [c.code for c in lookup_tariff(text, top_k=10, settings=settings)]


# Picked up by evals/retrieval.py (``shipdoc eval retrieval --lookup NAME``): plain
# collection searches at HS6 (dense, sparse, hybrid) and the fused tool lookup.
RETRIEVAL_LOOKUPS: dict[str, Callable[[], Callable[[str], list[str]]]] = {
    "dense": _kb_lookup("dense"),
    "sparse": _kb_lookup("sparse"),
    "hybrid": _kb_lookup("hybrid"),
    "tariff": _fused_lookup,
}
