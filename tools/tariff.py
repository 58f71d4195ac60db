"""Tariff lookup for the agent: ranked HS6 candidates with their chapter > heading path.

``lookup_tariff`` ranks every HS2022 subheading with the fusion of ``kb/lookup.py`` (its
own passage, its EU CN 2026 codes' EN/DE/FR titles, dense and lexical) after the
description is cleaned of invoice noise (``kb/query.py``); ``tariff_lookup`` adds the
verdict the agent sees (``unsure`` when the best two are close). ``shipdoc kb lookup``
calls the same functions. ``hs_code_exists`` reads the tariff tables directly and needs
no embedder.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.settings import Settings, get_settings
from kb import index
from kb.corpora.cn2026 import load_codes
from kb.corpora.hs2022 import load_table
from kb.ingest import data_dir
from kb.lookup import evidence, rank, space, verdict
from kb.search import MAX_QUERY_CHARS, get_kb


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
    rewrite: bool = True,
) -> list[TariffCandidate]:
    """Ranked HS2022 subheading candidates for a goods description.

    Classification does not depend on origin; ``origin`` is validated and carried on each
    candidate so the caller can look up origin-specific rules next.
    """
    args = LookupTariffArgs(description=description, origin=origin, top_k=top_k)
    settings = settings or get_settings()
    ev = evidence(args.description, settings, rewrite=rewrite)
    table = load_table(data_dir(settings))
    ranked = rank(ev, space(settings), args.top_k)
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


class TariffLookup(BaseModel):
    """Candidates plus whether the best one clearly leads (``unsure``: choose, or leave it)."""

    verdict: Literal["confident", "unsure"]
    candidates: list[TariffCandidate]


def tariff_lookup(
    description: str,
    origin: str | None = None,
    top_k: int = 10,
    *,
    settings: Settings | None = None,
) -> TariffLookup:
    """``lookup_tariff`` with a verdict: ``unsure`` when the top two are close (kb.lookup)."""
    found = lookup_tariff(description, origin, max(top_k, 2), settings=settings)
    sure = verdict([c.score for c in found]) == "confident"
    return TariffLookup(verdict="confident" if sure else "unsure", candidates=found[:top_k])


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


def _kb_lookup(mode: index.Mode, rewrite: bool = True) -> Callable[[], Callable[[str], list[str]]]:
    def factory() -> Callable[[str], list[str]]:
        kb = get_kb(get_settings())

        def lookup(text: str) -> list[str]:
            hits = kb.search(text, level=6, top=10, mode=mode, rewrite=rewrite)
            return [h.code for h in hits]

        return lookup

    return factory


def _fused_lookup(rewrite: bool) -> Callable[[], Callable[[str], list[str]]]:
    def factory() -> Callable[[str], list[str]]:
        settings = get_settings()

        def lookup(text: str) -> list[str]:
            found = lookup_tariff(text, top_k=10, settings=settings, rewrite=rewrite)
            return [c.code for c in found]

        return lookup

    return factory


# Picked up by evals/retrieval.py (``shipdoc eval retrieval --lookup NAME``): plain
# collection searches at HS6 (dense, sparse, hybrid) and the fused tool lookup, each with
# query rewriting; ``-raw`` variants without it, to measure what rewriting adds.
RETRIEVAL_LOOKUPS: dict[str, Callable[[], Callable[[str], list[str]]]] = {
    "dense": _kb_lookup("dense"),
    "sparse": _kb_lookup("sparse"),
    "hybrid": _kb_lookup("hybrid"),
    "tariff": _fused_lookup(rewrite=True),
    "dense-raw": _kb_lookup("dense", rewrite=False),
    "sparse-raw": _kb_lookup("sparse", rewrite=False),
    "hybrid-raw": _kb_lookup("hybrid", rewrite=False),
    "tariff-raw": _fused_lookup(rewrite=False),
}
