"""Ingestion: chunk a corpus, embed only what changed (content hash), drop stale points."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel
from qdrant_client import QdrantClient, models

from core import progress as shown
from core.settings import Settings
from kb import index, matrix, snapshot, sparse
from kb.chunks import Chunk
from kb.corpora import cn2026, docs, hs2022
from kb.embedders import Embedder, Vectors, make_embedder
from kb.errors import BadQuery

log = logging.getLogger(__name__)

BATCH = 64
_DATA_DIR = Path(__file__).parent / "data"
_DOCS_DIR = Path(__file__).parent / "sources"

Progress = Callable[[int, int], None]


class IngestReport(BaseModel):
    corpus: str
    collection: str
    total: int
    embedded: int
    removed: int
    unchanged: int
    seconds: float
    # vectors taken from the prebuilt snapshot instead of the embedder
    from_snapshot: int = 0
    snapshot: str = "unused"  # unused | absent | loaded | partial | refused
    snapshot_reason: str = ""

    @property
    def chunks_per_s(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def data_dir(settings: Settings) -> Path:
    return settings.kb.data_dir or _DATA_DIR


def docs_dir(settings: Settings) -> Path:
    return settings.kb.docs_dir or _DOCS_DIR


def snapshot_dir(settings: Settings) -> Path:
    return settings.kb.snapshot_dir or snapshot.DEFAULT_DIR


def load_chunks(settings: Settings, corpus: str, path: Path | None = None) -> list[Chunk]:
    if corpus == "hs2022":
        return hs2022.chunks(path or data_dir(settings))
    if corpus == "cn2026":
        return cn2026.chunks(path or data_dir(settings))
    if corpus == "docs":
        return docs.chunks(path or docs_dir(settings))
    raise BadQuery(f"unknown source {corpus!r}; expected one of {', '.join(index.CORPORA)}")


def ingest(
    settings: Settings,
    corpus: str,
    *,
    path: Path | None = None,
    chunks: list[Chunk] | None = None,
    embedder: Embedder | None = None,
    recreate: bool = False,
    use_snapshot: bool | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring one collection up to date with its source; incremental unless ``recreate``."""
    started = time.perf_counter()
    items = chunks if chunks is not None else load_chunks(settings, corpus, path)
    embedder = embedder or make_embedder(settings.kb)
    record = index.EmbedderRecord(model_id=embedder.model_id, dim=embedder.dim)
    client = index.open_client(settings)
    name = index.collection_name(settings.kb, corpus)
    if recreate and index.exists(client, name):
        index.call(client.delete_collection, collection_name=name)
    if not index.exists(client, name):
        index.create(client, settings.kb, name, record)
    index.verify(client, name, record)
    if not settings.kb.qdrant_url:
        index.fast_local_writes(client, name)

    stored = index.existing_hashes(client, name)
    wanted = {c.point_id: c for c in items}
    todo = [c for pid, c in wanted.items() if stored.get(pid) != c.content_hash]
    stale = [pid for pid in stored if pid not in wanted]
    loaded = snapshot.Loaded("unused", "", {})
    if (
        todo
        and (corpus != "docs" or path is None)
        and (settings.kb.use_snapshot if use_snapshot is None else use_snapshot)
    ):
        loaded = snapshot.load(snapshot_dir(settings), corpus, items, embedder)
    reused = _upsert(client, name, embedder, todo, progress, loaded)
    if stale:
        index.call(
            client.delete,
            collection_name=name,
            points_selector=models.PointIdsList(points=list(stale)),
        )
    if recreate or todo or stale:  # the in-process and saved copies are of the old points
        matrix.forget(
            name, None if settings.kb.qdrant_url else str(index.local_path(settings).resolve())
        )
    return IngestReport(
        corpus=corpus,
        collection=name,
        total=len(wanted),
        embedded=len(todo) - reused,
        removed=len(stale),
        unchanged=len(wanted) - len(todo),
        seconds=time.perf_counter() - started,
        from_snapshot=reused,
        snapshot=loaded.status,
        snapshot_reason=loaded.reason,
    )


def _upsert(
    client: QdrantClient,
    name: str,
    embedder: Embedder,
    todo: list[Chunk],
    progress: Progress | None,
    loaded: snapshot.Loaded,
) -> int:
    """Upsert ``todo``; vectors from the snapshot where it has them. Returns how many."""
    found = [(c, loaded.vector_for(c)) for c in todo]
    known = [(c, v) for c, v in found if v is not None]
    fresh = [c for c, v in found if v is None]
    batch_size = BATCH * 16 if known else BATCH
    loading, embedding = f"knowledge base: load {name} (snapshot)", f"knowledge base: embed {name}"
    if known:
        shown.report(loading, 0, len(known), unit="chunks")
    for start in range(0, len(known), batch_size):
        rows = known[start : start + batch_size]
        _put(client, name, [c for c, _ in rows], [v for _, v in rows])
        shown.report(loading, min(start + batch_size, len(known)), len(known), unit="chunks")
    if fresh:
        shown.report(embedding, 0, len(fresh), unit="chunks")
    for start in range(0, len(fresh), BATCH):
        batch = fresh[start : start + BATCH]
        _put(client, name, batch, list(embedder.embed_passages([c.text for c in batch])))
        shown.report(embedding, min(start + BATCH, len(fresh)), len(fresh), unit="chunks")
        if progress is not None:
            progress(min(start + BATCH, len(fresh)), len(fresh))
    return len(known)


def _put(client: QdrantClient, name: str, batch: list[Chunk], dense: list[Vectors]) -> None:
    points = [
        models.PointStruct(
            id=c.point_id,
            vector={
                index.DENSE: dense[i].tolist(),
                index.LEXICAL: sparse.passage_vector(c.text),
            },
            payload={**c.payload, "text": c.text, "content_hash": c.content_hash},
        )
        for i, c in enumerate(batch)
    ]
    index.call(client.upsert, collection_name=name, points=points, wait=True)


def ensure_ingested(
    settings: Settings, *, progress: Callable[[str, int, int], None] | None = None
) -> list[IngestReport]:
    """Build or update every collection (what `make demo` runs); seconds when up to date."""
    reports = []
    for corpus in index.CORPORA:

        def step(done: int, total: int, corpus: str = corpus) -> None:
            if progress is not None:
                progress(corpus, done, total)

        report = ingest(settings, corpus, progress=step)
        log.info(
            "kb %s: %d embedded, %d removed, %d unchanged in %.1fs",
            corpus,
            report.embedded,
            report.removed,
            report.unchanged,
            report.seconds,
        )
        reports.append(report)
    return reports


def write_snapshot(
    settings: Settings,
    corpus: str,
    *,
    embedder: Embedder | None = None,
    folder: Path | None = None,
    progress: Progress | None = None,
) -> tuple[Path, IngestReport]:
    """Bring the collection up to date, then write its vectors as the corpus's snapshot."""
    embedder = embedder or make_embedder(settings.kb)
    items = load_chunks(settings, corpus)
    report = ingest(settings, corpus, chunks=items, embedder=embedder, progress=progress)
    client = index.open_client(settings)
    name = index.collection_name(settings.kb, corpus)
    vectors = index.dense_vectors(client, name, [c.point_id for c in items])
    path = snapshot.write(folder or snapshot_dir(settings), corpus, items, vectors, embedder)
    return path, report
