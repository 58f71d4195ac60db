"""Tariff-lookup evaluation: goods descriptions -> HS6 codes, recall@k and MRR.

``evaluate_retrieval(cases, lookup)`` scores any ``lookup(text) -> ranked codes`` at the
6-, 4- and 2-digit level. Lookups are named in a registry for the CLI:
``register_lookup(name, factory)`` where ``factory()`` builds the lookup once. The
knowledge-base layer can also publish lookups without importing ``evals`` (imports point
down only): a ``RETRIEVAL_LOOKUPS: dict[str, factory]`` in ``tools.tariff`` is picked up
the first time a name is not found here.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import json
import math
import random
import re
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

from core.errors import InputError
from core.settings import get_settings
from core.stats import percentile
from kb.ingest import data_dir

Lookup = Callable[[str], Sequence[str]]
LookupFactory = Callable[[], Lookup]
LEVELS = (6, 4, 2)
DEFAULT_GOLDEN = Path(__file__).resolve().parent / "golden" / "retrieval.jsonl"


SPLITS = ("dev", "test")
# The split is by HS chapter (a salted hash of the two digits), so a chapter's cases (and the
# near-duplicates of one description in four languages) are all on one side: tuning on dev
# cannot learn a test chapter's vocabulary. The salt was chosen for balanced case counts.
_SPLIT_SALT = "shipdoc-split-1"


def split_of(hs6: str) -> str:
    """``dev`` or ``test`` for a case with this HS code (by chapter)."""
    return "test" if zlib.crc32((_SPLIT_SALT + hs6[:2]).encode()) % 2 else "dev"


class RetrievalCase(BaseModel):
    id: str
    lang: str
    text: str
    hs6: str
    # plain | vague | brand | jargon | material | use | lang | invoice
    style: str = "plain"
    # w1: the first 263 cases (the glossary in kb/rewrite.py was written from their misses);
    # w2: written later, without looking at any lookup's results
    writer: str = "w1"

    @property
    def split(self) -> str:
        return split_of(self.hs6)


class LevelScores(BaseModel):
    recall: dict[int, float]  # k -> recall@k
    mrr: float


class RetrievalReport(BaseModel):
    lookup: str
    cases: int
    ks: list[int]
    levels: dict[int, LevelScores]  # 6, 4, 2 digits
    by_lang: dict[str, dict[int, LevelScores]]
    by_style: dict[str, dict[int, LevelScores]] = {}
    by_writer: dict[str, dict[int, LevelScores]] = {}
    seconds: float
    ms_p50: float = 0.0
    ms_p99: float = 0.0
    misses_at_6: list[str]  # case ids with no correct HS6 in the top max(k)


def load_golden(path: Path) -> list[RetrievalCase]:
    if not path.exists():
        raise InputError(f"retrieval golden set {path} does not exist", code="golden_missing")
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = RetrievalCase.model_validate(json.loads(line))
        except ValueError as exc:
            raise InputError(f"{path.name} line {n}: {exc}", code="bad_golden") from exc
        if not re.fullmatch(r"\d{6}", case.hs6):
            raise InputError(f"{path.name} line {n}: hs6 must be 6 digits", code="bad_golden")
        cases.append(case)
    return cases


def _digits(code: str) -> str:
    return "".join(ch for ch in code if ch.isdigit())


def _first_hit(truth: str, ranked: Sequence[str], level: int, limit: int) -> int | None:
    want = truth[:level]
    for rank, code in enumerate(ranked[:limit], start=1):
        digits = _digits(code)
        if len(digits) >= level and digits[:level] == want:
            return rank
    return None


def _scores(ranks: list[int | None], ks: Sequence[int]) -> LevelScores:
    n = max(1, len(ranks))
    return LevelScores(
        recall={k: round(sum(1 for r in ranks if r is not None and r <= k) / n, 4) for k in ks},
        mrr=round(sum(1 / r for r in ranks if r is not None) / n, 4),
    )


def evaluate_retrieval(
    cases: Sequence[RetrievalCase],
    lookup: Lookup,
    ks: Sequence[int] = (1, 5, 10),
    name: str = "lookup",
) -> RetrievalReport:
    """Recall@k and MRR (over the top ``max(ks)``) at 6-, 4- and 2-digit level."""
    limit = max(ks)
    started = time.perf_counter()
    ranked: list[list[str]] = []
    times: list[float] = []
    for case in cases:
        t0 = time.perf_counter()
        ranked.append(list(lookup(case.text)))
        times.append(1000 * (time.perf_counter() - t0))
    seconds = time.perf_counter() - started
    ranks = {
        level: [_first_hit(c.hs6, r, level, limit) for c, r in zip(cases, ranked, strict=True)]
        for level in LEVELS
    }

    def group(key: Callable[[RetrievalCase], str]) -> dict[str, dict[int, LevelScores]]:
        out: dict[str, dict[int, LevelScores]] = {}
        for value in sorted({key(c) for c in cases}):
            idx = [i for i, c in enumerate(cases) if key(c) == value]
            out[value] = {lv: _scores([ranks[lv][i] for i in idx], ks) for lv in LEVELS}
        return out

    spent = times or [0.0]
    return RetrievalReport(
        lookup=name,
        cases=len(cases),
        ks=list(ks),
        levels={lv: _scores(ranks[lv], ks) for lv in LEVELS},
        by_lang=group(lambda c: c.lang),
        by_style=group(lambda c: c.style),
        by_writer=group(lambda c: c.writer),
        seconds=round(seconds, 3),
        ms_p50=round(percentile(spent, 0.5), 2),
        ms_p99=round(percentile(spent, 0.99), 2),
        misses_at_6=[c.id for c, r in zip(cases, ranks[6], strict=True) if r is None],
    )


# --- the registry -------------------------------------------------------------------------

_REGISTRY: dict[str, LookupFactory] = {}


def register_lookup(name: str, factory: LookupFactory) -> None:
    """Make ``shipdoc eval retrieval --lookup NAME`` use ``factory()``."""
    _REGISTRY[name] = factory


def _load_published() -> None:
    try:
        module = importlib.import_module("tools.tariff")
    except ModuleNotFoundError as exc:
        if exc.name not in ("tools.tariff", "tools"):
            raise
        return
    for name, factory in getattr(module, "RETRIEVAL_LOOKUPS", {}).items():
        _REGISTRY.setdefault(name, factory)


def lookup_names() -> list[str]:
    _load_published()
    return sorted(_REGISTRY)


def get_lookup(name: str) -> Lookup:
    if name not in _REGISTRY:
        _load_published()
    if name not in _REGISTRY:
        raise InputError(
            f"unknown lookup {name!r}; known: {', '.join(sorted(_REGISTRY))}", code="unknown_lookup"
        )
    return _REGISTRY[name]()


# --- the baselines ------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]{3,}")
_STOP = {
    "and",
    "the",
    "for",
    "with",
    "not",
    "other",
    "than",
    "whether",
    "their",
    "thereof",
    "kind",
    "used",
    "n.e.c",
    "nec",
    "heading",
    "item",
    "excluding",
    "including",
    "of",
}


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.casefold()) if w not in _STOP]


@lru_cache(maxsize=2)
def hs6_descriptions(path: Path | None = None) -> dict[str, str]:
    """HS6 code -> description from the bundled HS 2022 nomenclature (kb/data)."""
    source = path or data_dir(get_settings()) / "hs2022" / "harmonized-system.csv"
    if not source.exists():
        raise InputError(f"HS nomenclature not found at {source}", code="hs_missing")
    with source.open(encoding="utf-8") as fh:
        return {
            row["hscode"]: row["description"]
            for row in csv.DictReader(fh)
            if row["level"] == "6" and row["hscode"] != "999999"
        }


def keyword_lookup() -> Lookup:
    """The trivial baseline: words of the query matched against HS6 descriptions, idf-weighted."""
    docs = {code: Counter(_words(text)) for code, text in hs6_descriptions().items()}
    df: Counter[str] = Counter()
    for words in docs.values():
        df.update(words.keys())
    n = len(docs)
    idf = {w: math.log(n / c) for w, c in df.items()}
    postings: dict[str, list[str]] = {}
    for code, words in docs.items():
        for w in words:
            postings.setdefault(w, []).append(code)

    def lookup(text: str) -> list[str]:
        score: dict[str, float] = {}
        for w in set(_words(text)):
            for variant in {w, w.rstrip("s")}:
                for code in postings.get(variant, ()):
                    score[code] = score.get(code, 0.0) + idf[variant]
        return [code for code, _ in sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))[:10]]

    return lookup


def random_lookup() -> Lookup:
    """A deliberately bad lookup: ten HS6 codes drawn at random (seeded by the text)."""
    codes = sorted(hs6_descriptions())

    def lookup(text: str) -> list[str]:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
        return random.Random(seed).sample(codes, 10)

    return lookup


register_lookup("keyword", keyword_lookup)
register_lookup("random", random_lookup)
