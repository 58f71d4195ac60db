"""Lexical sparse vectors (BM25-style term weights; Qdrant applies IDF via ``Modifier.IDF``).

Multilingual handling: accents are folded (``Fahrräder`` -> ``fahrrader``), German and
Dutch ``ß``/``ij`` are normalised, a light plural stemmer covers EN/DE/NL/FR endings, and
long tokens (DE/NL compounds such as ``Aluminiumrahmen``) also emit their character
5-grams at a lower weight, so ``rahmen`` can meet ``aluminiumrahmen``.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections import Counter

from qdrant_client import models

SPARSE_SCHEMA = "bm25-hash-v1"
_TOKEN = re.compile(r"[a-z0-9]+")
_K1 = 1.2
_B = 0.75
_AVG_LEN = 24.0
_COMPOUND_MIN = 10
_NGRAM = 5
_NGRAM_WEIGHT = 0.3
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "not",
        "of",
        "on",
        "or",
        "other",
        "than",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "were",
        "which",
        "with",
        "without",
        "whether",
        "including",
        "excluding",
        "der",
        "die",
        "das",
        "und",
        "oder",
        "mit",
        "ohne",
        "von",
        "fur",
        "aus",
        "auf",
        "im",
        "in",
        "zu",
        "den",
        "dem",
        "des",
        "ein",
        "eine",
        "einer",
        "de",
        "het",
        "een",
        "en",
        "van",
        "voor",
        "met",
        "zonder",
        "op",
        "la",
        "le",
        "les",
        "des",
        "du",
        "et",
        "ou",
        "avec",
        "sans",
        "pour",
        "en",
        "un",
        "une",
        "autres",
        "andere",
        "anderer",
        "andere",
        "other",
        "others",
    ]
)
_SUFFIXES = ("ies", "es", "s", "en", "er", "e")


def normalise(text: str) -> str:
    text = text.lower().replace("ß", "ss").replace("ĳ", "ij")
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if not unicodedata.combining(c))


def _stem(token: str) -> str:
    if token.isdigit() or len(token) <= 4:
        return token
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return token


def terms(text: str) -> Counter[str]:
    """Weighted terms of a text: stems, plus 5-grams of long (compound) words."""
    counts: Counter[str] = Counter()
    for raw in _TOKEN.findall(normalise(text)):
        if raw in _STOP or len(raw) < 2:
            continue
        counts["w:" + _stem(raw)] += 1
        if len(raw) >= _COMPOUND_MIN:
            for i in range(len(raw) - _NGRAM + 1):
                counts["g:" + raw[i : i + _NGRAM]] += 1
    return counts


def _term_id(term: str) -> int:
    return zlib.crc32(term.encode("utf-8")) & 0x7FFFFFFF


def _to_vector(weights: dict[int, float]) -> models.SparseVector:
    ids = sorted(weights)
    return models.SparseVector(indices=ids, values=[weights[i] for i in ids])


def passage_vector(text: str) -> models.SparseVector:
    """BM25 document side: saturated, length-normalised term frequencies."""
    counts = terms(text)
    length = sum(n for t, n in counts.items() if t.startswith("w:")) or 1
    norm = _K1 * (1 - _B + _B * length / _AVG_LEN)
    weights: dict[int, float] = {}
    for term, tf in counts.items():
        w = tf * (_K1 + 1) / (tf + norm)
        if term.startswith("g:"):
            w *= _NGRAM_WEIGHT
        key = _term_id(term)
        weights[key] = weights.get(key, 0.0) + w
    return _to_vector(weights)


def query_vector(text: str) -> models.SparseVector:
    """BM25 query side: each distinct term once (n-grams down-weighted)."""
    weights: dict[int, float] = {}
    for term in terms(text):
        key = _term_id(term)
        w = _NGRAM_WEIGHT if term.startswith("g:") else 1.0
        weights[key] = max(weights.get(key, 0.0), w)
    return _to_vector(weights)


def is_empty(vector: models.SparseVector) -> bool:
    return not vector.indices or math.isclose(sum(vector.values), 0.0)
