"""The tariff ranking: every HS6 subheading scored from the HS and CN evidence of one query.

One query embedding, then (local mode) exact scores against every point of both tariff
collections in the in-process matrices, reduced to the 5,612 HS6 subheadings with numpy:

- ``own``: the subheading's dense cosine (its passage carries heading and chapter);
- ``cn``: the best dense cosine among its EU CN 8-digit codes (EN/DE/FR titles);
- ``cn_lex``: the best lexical (BM25, IDF) score among its CN codes, over the query's best;
- ``hs_lex``: the subheading's own lexical score, over the query's best;
- ``head``: the dense cosine of its heading (HS4), a hierarchical prior.

``fused = own + w_cn * cn + w_cn_lex * cn_lex + w_hs_lex * hs_lex + w_head * head``,
weights chosen on the dev split only (docs/kb.md). With a Qdrant server the same evidence
comes from top-N queries (missing entries take the lowest score seen).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from core.settings import Settings
from kb import sparse
from kb.corpora.hs2022 import exclusions, load_table
from kb.errors import CollectionMissing
from kb.ingest import data_dir
from kb.query import clean as clean_query
from kb.query import debrand, items
from kb.rewrite import rewrite as rewrite_query
from kb.search import KnowledgeBase, get_kb
from kb.vocabulary import gloss as gloss_words

Scores = npt.NDArray[np.float32]
DEPTH = 200


@dataclass(frozen=True)
class Weights:
    cn: float = 1.0
    cn_lex: float = 0.05
    hs_lex: float = 0.0
    head: float = 0.0
    # the best fused score in the subheading's heading: a soft beam over headings
    beam: float = 0.0
    # a penalty when the query names what the subheading's title excludes ("other than")
    excl: float = 0.0


# chosen on dev by bench/kb_experiments.py (greedy over cn, cn_lex, hs_lex, head; docs/kb.md)
DEFAULT = Weights(cn=1.0, cn_lex=0.05, hs_lex=0.05, head=0.5)


@dataclass
class Evidence:
    """Per-HS6 evidence for one query, aligned with ``Space.codes``."""

    own: Scores
    cn: Scores
    cn_lex: Scores
    hs_lex: Scores
    head: Scores
    excl: Scores  # share of the query's words that the subheading's title excludes
    heading_of: npt.NDArray[np.intp]  # each subheading's heading slot (Space.heading_of)

    @classmethod
    def best(cls, many: Sequence[Evidence]) -> Evidence:
        """Each subheading's best evidence of several queries (the items of one line)."""

        def top(field: str) -> Scores:
            out: Scores = np.max(np.stack([getattr(e, field) for e in many]), axis=0)
            return out

        return cls(
            own=top("own"),
            cn=top("cn"),
            cn_lex=top("cn_lex"),
            hs_lex=top("hs_lex"),
            head=top("head"),
            excl=np.min(np.stack([e.excl for e in many]), axis=0),
            heading_of=many[0].heading_of,
        )

    def fused(self, w: Weights = DEFAULT) -> Scores:
        out: Scores = self.own + w.cn * self.cn + w.cn_lex * self.cn_lex + w.hs_lex * self.hs_lex
        if w.head:
            out = out + w.head * self.head
        if w.excl:
            out = out - w.excl * self.excl
        if w.beam:
            heads = np.full(int(self.heading_of.max()) + 1, -np.inf, dtype=np.float32)
            np.maximum.at(heads, self.heading_of, out)
            out = out + w.beam * heads[self.heading_of]
        return out


class Space:
    """The HS6 subheadings and where each point of the two collections belongs."""

    def __init__(self, settings: Settings) -> None:
        table = load_table(data_dir(settings))
        self.codes = sorted(c for c, e in table.entries.items() if e.level == 6)
        self.pos = {c: i for i, c in enumerate(self.codes)}
        self.headings = sorted({c[:4] for c in self.codes})
        self.heading_pos = {h: i for i, h in enumerate(self.headings)}
        self.heading_of = np.array([self.heading_pos[c[:4]] for c in self.codes], dtype=np.intp)
        # term -> the subheadings whose title (or heading title) excludes it ("other than")
        excluded: dict[str, list[int]] = {}
        for i, code in enumerate(self.codes):
            words: set[str] = set()
            for entry in table.chain(code):
                for phrase in exclusions(entry.title):
                    words.update(_words(phrase))
            for word in words:
                excluded.setdefault(word, []).append(i)
        self.excluded = {w: np.array(rows, np.intp) for w, rows in excluded.items()}
        self._rows: dict[str, tuple[list[str], npt.NDArray[np.intp]]] = {}

    def rows(self, key: str, codes: list[str], width: int) -> npt.NDArray[np.intp]:
        """For each point (by its code), the HS6 (or HS4) slot it feeds; -1 if none.

        Kept per ``key`` while the points are the same list (a re-read collection is a new
        one; keyed by ``id(codes)``, a new list could reuse a freed list's id)."""
        cached = self._rows.get(key)
        if cached is None or cached[0] is not codes:
            if width == 6:
                slots = np.array([self.pos.get(c[:6], -1) for c in codes], np.intp)
            else:
                where = self.heading_pos
                slots = np.array([where.get(c, -1) if len(c) == 4 else -1 for c in codes], np.intp)
            self._rows[key] = cached = (codes, slots)
        return cached[1]


_spaces: dict[str, Space] = {}
_lock = threading.Lock()


def space(settings: Settings) -> Space:
    key = str(data_dir(settings))
    with _lock:
        if key not in _spaces:
            _spaces[key] = Space(settings)
        return _spaces[key]


def prepare(text: str, *, rewrite: bool = True, clean: bool = True, understand: bool = True) -> str:
    """The text that is embedded and matched: invoice noise stripped, brands replaced by
    their goods, DE/NL/FR goods words and trade jargon glossed in the tariff's English."""
    return prepared(text, rewrite=rewrite, clean=clean, understand=understand, split=False)[0]


def prepared(
    text: str,
    *,
    rewrite: bool = True,
    clean: bool = True,
    understand: bool = True,
    split: bool = True,
) -> list[str]:
    """The texts to look up: the whole description, then each item of a multi-item line."""
    query = clean_query(text) if clean else text
    if understand:
        query = debrand(query)
    parts = items(query) if split and understand else [query]
    texts = [query, *parts] if len(parts) > 1 else [query]
    if understand:
        texts = [gloss_words(t) for t in texts]
    return [rewrite_query(t) for t in texts] if rewrite else texts


def evidence(
    text: str,
    settings: Settings,
    *,
    rewrite: bool = True,
    clean: bool = True,
    understand: bool = True,
    split: bool = True,
    vectors: Sequence[Any] | None = None,
) -> Evidence:
    """The evidence of every HS6 subheading for one goods description.

    A multi-item line is looked up whole and item by item; each subheading keeps its best
    evidence of any of them, so every item's candidates can reach the top.
    ``vectors``: the query embeddings of ``prepared(text, ...)``, when already computed."""
    kb = get_kb(settings)
    sp = space(settings)
    texts = prepared(text, rewrite=rewrite, clean=clean, understand=understand, split=split)
    if vectors is None:
        vectors = [kb.embed_query(t, rewrite=False) for t in texts]
    found = []
    for query, vector in zip(texts, vectors, strict=True):
        lexical = sparse.query_vector(query)
        if kb.uses_matrix:
            ev = _from_matrices(kb, sp, np.asarray(vector, np.float32), lexical)
        else:
            ev = _from_queries(kb, sp, query, [float(x) for x in vector])
        found.append(Evidence(*ev, excl=_excluded(sp, query), heading_of=sp.heading_of))
    return found[0] if len(found) == 1 else Evidence.best(found)


_NOT_GOODS = frozenset({"heading", "headings", "subheading", "those", "articles", "goods", "kind"})


def _words(text: str) -> set[str]:
    """The stemmed words of a text that can name goods (no numbers, no "heading")."""
    return {
        t
        for t in sparse.terms(text)
        if t.startswith("w:") and t[2:].isalpha() and len(t) > 4 and t[2:] not in _NOT_GOODS
    }


def _excluded(sp: Space, query: str) -> Scores:
    """For each subheading, the share of the query's words its title excludes."""
    out = np.zeros(len(sp.codes), np.float32)
    words = _words(query)
    for word in words:
        rows = sp.excluded.get(word)
        if rows is not None:
            out[rows] += 1.0
    out /= max(1, len(words))
    return out


def _norm(scores: Scores) -> Scores:
    top = float(scores.max()) if scores.size else 0.0
    out: Scores = scores / top if top > 0 else scores
    return out


def _best(slots: npt.NDArray[np.intp], values: Scores, n: int, floor: float) -> Scores:
    out = np.full(n, -np.inf, dtype=np.float32)
    ok = slots >= 0
    np.maximum.at(out, slots[ok], values[ok])
    out[np.isneginf(out)] = floor
    return out


Parts = tuple[Scores, Scores, Scores, Scores, Scores]  # own, cn, cn_lex, hs_lex, head


def _from_matrices(kb: KnowledgeBase, sp: Space, vector: Any, lexical: Any) -> Parts:
    n = len(sp.codes)
    hs = kb.matrix("hs2022")
    hs_dense = hs.dense_scores(vector)
    hs_sparse = hs.sparse_scores(lexical) if lexical.indices else np.zeros(len(hs), np.float32)
    six = sp.rows("hs6", hs.codes, 6)
    six = np.where(hs.levels == 6, six, -1)
    own = _best(six, hs_dense, n, float(hs_dense.min()))
    hs_lex = _norm(_best(six, hs_sparse, n, 0.0))
    heads = sp.rows("hs4", hs.codes, 4)
    head_scores = _best(heads, hs_dense, len(sp.headings), float(hs_dense.min()))
    head = head_scores[sp.heading_of]
    try:
        cn = kb.matrix("cn2026")
    except CollectionMissing:  # no CN collection: HS evidence alone
        zero = np.zeros(n, np.float32)
        return own, own.copy(), zero, hs_lex, head
    cn_dense = cn.dense_scores(vector)
    cn_sparse = cn.sparse_scores(lexical) if lexical.indices else np.zeros(len(cn), np.float32)
    slots = sp.rows("cn", cn.codes, 6)
    has_cn = np.zeros(n, dtype=bool)
    has_cn[slots[slots >= 0]] = True
    cn_best = _best(slots, cn_dense, n, float(cn_dense.min()))
    cn_best = np.where(has_cn, cn_best, own)  # no CN children: count its own score twice
    return own, cn_best, _norm(_best(slots, cn_sparse, n, 0.0)), hs_lex, head


def _from_queries(kb: KnowledgeBase, sp: Space, query: str, vector: list[float]) -> Parts:
    """The same evidence from top-N queries (a Qdrant server)."""
    n = len(sp.codes)

    def collect(corpus: str, mode: Any, level: int | None) -> dict[str, float]:
        found: dict[str, float] = {}
        for p in kb.points(
            query,
            corpus=corpus,
            top=DEPTH,
            mode=mode,
            level=level,
            dense_vector=vector if mode == "dense" else None,
            rewrite=False,
        ):
            code = str(p.payload["code"])
            key = code[:6] if corpus == "cn2026" else code
            found[key] = max(found.get(key, float("-inf")), float(p.score))
        return found

    def array(found: dict[str, float], floor: float) -> Scores:
        out = np.full(n, floor, dtype=np.float32)
        for code, score in found.items():
            if code in sp.pos:
                out[sp.pos[code]] = score
        return out

    own_d = collect("hs2022", "dense", 6)
    own = array(own_d, min(own_d.values(), default=0.0))
    hs_lex = _norm(array(collect("hs2022", "sparse", 6), 0.0))
    heads = collect("hs2022", "dense", 4)
    floor4 = min(heads.values(), default=0.0)
    head = np.array([heads.get(c[:4], floor4) for c in sp.codes], dtype=np.float32)
    try:
        cn_d = collect("cn2026", "dense", None)
        cn_s = collect("cn2026", "sparse", None)
    except CollectionMissing:  # no CN collection: HS evidence alone, as _from_matrices
        return own, own.copy(), np.zeros(n, np.float32), hs_lex, head
    cn = array(cn_d, min(cn_d.values(), default=float(own.min())))
    return own, cn, _norm(array(cn_s, 0.0)), hs_lex, head


def rank(ev: Evidence, sp: Space, top: int, w: Weights = DEFAULT) -> list[tuple[str, float]]:
    fused = ev.fused(w)
    top = min(top, len(fused))
    part = np.argpartition(-fused, top - 1)[:top]
    order = part[np.argsort(-fused[part], kind="stable")]
    return [(sp.codes[i], float(fused[i])) for i in order]


# "confident" only when the best subheading leads the next by this much of the fused
# score; chosen on the dev split (bench/kb_experiments.py, docs/kb.md "Quality").
CONFIDENT_MARGIN = 0.05


def verdict(scores: list[float], margin: float = CONFIDENT_MARGIN) -> str:
    """``confident`` or ``unsure`` for a ranking's scores (best first)."""
    if len(scores) < 2:
        return "confident" if scores else "unsure"
    return "confident" if scores[0] - scores[1] >= margin else "unsure"
