"""Search over the collections: hybrid (dense + sparse, RRF), dense only or sparse only."""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel

from core import metrics, telemetry
from core.settings import Settings
from kb import index, matrix, sparse
from kb.embedders import Embedder, make_embedder
from kb.errors import BadQuery
from kb.rewrite import rewrite as rewrite_query

MAX_QUERY_CHARS = 2000
MAX_TOP = 200
LEVELS = {"hs2022": (2, 4, 6), "cn2026": (8,), "docs": (0,)}


class Hit(BaseModel):
    """A tariff entry found by a search."""

    code: str
    title: str
    score: float
    source: str
    level: int
    path: list[str]


class DocHit(BaseModel):
    """A chunk of a markdown source, for answers that cite what they used."""

    chunk_id: str
    file: str
    heading: str
    text: str
    score: float


class KnowledgeBase:
    """One embedder and one Qdrant client; verifies each collection before first use."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._verified: set[str] = set()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings.kb)
        return self._embedder

    def collection(self, corpus: str) -> str:
        if corpus not in index.CORPORA:
            raise BadQuery(f"unknown source {corpus!r}; expected one of {', '.join(index.CORPORA)}")
        name = index.collection_name(self.settings.kb, corpus)
        if name not in self._verified:
            record = index.EmbedderRecord(model_id=self.embedder.model_id, dim=self.embedder.dim)
            index.verify(index.open_client(self.settings), name, record)
            self._verified.add(name)
        return name

    @property
    def uses_matrix(self) -> bool:
        """Local mode searched in process (``kb.local_index``), not by Qdrant."""
        return not self.settings.kb.qdrant_url and self.settings.kb.local_index == "matrix"

    def matrix(self, corpus: str) -> matrix.MatrixIndex:
        """The in-process copy of a verified collection (local mode)."""
        name = self.collection(corpus)
        where = str(index.local_path(self.settings).resolve())
        return matrix.get(index.open_client(self.settings), where, name)

    def points(
        self,
        text: str,
        *,
        corpus: str = "hs2022",
        top: int = 10,
        level: int | None = None,
        language: str | None = None,
        mode: index.Mode = "hybrid",
        dense_vector: list[float] | None = None,
        rewrite: bool = True,
    ) -> list[Any]:
        """Scored Qdrant points; ``dense_vector`` reuses a query embedding (``embed_query``).

        Tariff queries are rewritten (trade jargon -> tariff words, ``kb/rewrite.py``)
        unless ``rewrite`` is False."""
        attributes = {"shipdoc.kb.corpus": corpus, "shipdoc.kb.mode": mode, "shipdoc.kb.top": top}
        with (
            telemetry.span("shipdoc.kb.search", attributes) as span,
            metrics.RETRIEVAL_SECONDS.labels(corpus).time(),
        ):
            found = self._points(text, corpus, top, level, language, mode, dense_vector, rewrite)
            span.set_attribute("shipdoc.kb.hits", len(found))
            return found

    def _points(
        self,
        text: str,
        corpus: str,
        top: int,
        level: int | None,
        language: str | None,
        mode: index.Mode,
        dense_vector: list[float] | None,
        rewrite: bool,
    ) -> list[Any]:
        query = _validated(text, top)
        if rewrite and corpus != "docs":
            query = rewrite_query(query)
        if level is not None and level not in LEVELS[corpus if corpus in LEVELS else "hs2022"]:
            raise BadQuery(
                f"unknown level {level} for {corpus}; expected one of "
                f"{', '.join(str(v) for v in LEVELS.get(corpus, ()))}"
            )
        name = self.collection(corpus)
        dense = None
        if mode != "sparse":
            dense = dense_vector or self.embedder.embed_queries([query])[0].tolist()
        lexical = None if mode == "dense" else sparse.query_vector(query)
        if lexical is not None and sparse.is_empty(lexical):
            if mode == "sparse":
                return []
            lexical = None
        if self.uses_matrix:
            return self.matrix(corpus).query(
                dense=dense, sparse=lexical, mode=mode, limit=top, level=level, language=language
            )
        return index.query(
            index.open_client(self.settings),
            name,
            dense=dense,
            sparse=lexical,
            mode=mode,
            limit=top,
            flt=index.build_filter(level=level, language=language),
        )

    def embed_query(self, text: str, *, rewrite: bool = True) -> list[float]:
        """A tariff query's dense vector, to reuse across several collections."""
        query = _validated(text, 1)
        if rewrite:
            query = rewrite_query(query)
        vector: list[float] = self.embedder.embed_queries([query])[0].tolist()
        return vector

    def search(
        self,
        text: str,
        *,
        corpus: str = "hs2022",
        top: int = 10,
        level: int | None = None,
        language: str | None = None,
        mode: index.Mode = "hybrid",
        rewrite: bool = True,
    ) -> list[Hit]:
        found = self.points(
            text,
            corpus=corpus,
            top=top,
            level=level,
            language=language,
            mode=mode,
            rewrite=rewrite,
        )
        return [
            Hit(
                code=str(p.payload["code"]),
                title=str(p.payload["title"]),
                score=float(p.score),
                source=str(p.payload["source"]),
                level=int(p.payload["level"]),
                path=list(p.payload.get("path", [])),
            )
            for p in found
        ]

    def search_docs(self, text: str, *, top: int = 5, mode: index.Mode = "hybrid") -> list[DocHit]:
        found = self.points(text, corpus="docs", top=top, mode=mode)
        return [
            DocHit(
                chunk_id=str(p.id),
                file=str(p.payload["file"]),
                heading=str(p.payload["heading"]),
                text=str(p.payload["text"]),
                score=float(p.score),
            )
            for p in found
        ]


def _validated(text: str, top: int) -> str:
    query = " ".join(text.split())
    if not query:
        raise BadQuery("the query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise BadQuery(
            f"the query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS} "
            "(describe the goods, not the whole document)"
        )
    if not 1 <= top <= MAX_TOP:
        raise BadQuery(f"top must be between 1 and {MAX_TOP}, not {top}")
    return query


_instances: dict[str, KnowledgeBase] = {}
_lock = threading.Lock()


def get_kb(settings: Settings) -> KnowledgeBase:
    """The process-wide knowledge base for these settings."""
    key = settings.model_dump_json()
    with _lock:
        kb = _instances.get(key)
        if kb is None:
            kb = _instances[key] = KnowledgeBase(settings)
        return kb
