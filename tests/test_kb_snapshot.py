"""The prebuilt tariff snapshot: used when the guard accepts it, refused and rebuilt otherwise;
and the in-process matrix index answers as Qdrant's local mode does."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from kb import index, matrix, snapshot, sparse
from kb.chunks import Chunk
from kb.embedders import Vectors
from kb.ingest import ingest, snapshot_dir, write_snapshot
from kb.search import KnowledgeBase

TITLES = {
    "871200": "Bicycles and other cycles, not motorised",
    "610910": "T-shirts, singlets and other vests, of cotton, knitted",
    "850760": "Lithium-ion accumulators",
    "090111": "Coffee, not roasted, not decaffeinated",
    "940161": "Seats with wooden frames, upholstered",
    "392321": "Sacks and bags of polymers of ethylene",
}


class FakeEmbedder:
    """Deterministic vectors from the text's hash; counts what it embeds."""

    def __init__(self, model_id: str = "fake/e5@1", dim: int = 16, salt: str = "") -> None:
        self._model_id, self._dim, self._salt = model_id, dim, salt
        self.embedded = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    def _vector(self, text: str) -> Vectors:
        seed = int.from_bytes(hashlib.sha256((self._salt + text).encode()).digest()[:8], "big")
        v = np.random.default_rng(seed).standard_normal(self._dim).astype(np.float32)
        out: Vectors = v / np.linalg.norm(v)
        return out

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return np.vstack([self._vector(t) for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        self.embedded += len(texts)
        return np.vstack([self._vector(t) for t in texts])


def corpus(change: str | None = None) -> list[Chunk]:
    return [
        Chunk(
            key=f"hs2022:{code}",
            text=title + (" (revised)" if code == change else ""),
            payload={"code": code, "title": title, "level": 6, "source": "hs2022", "path": []},
        )
        for code, title in TITLES.items()
    ]


@pytest.fixture
def snap_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    settings.kb.snapshot_dir = tmp_path / "snapshot"
    yield settings
    index.close_local_clients()
    matrix.forget()


def _write(settings: Settings, embedder: FakeEmbedder) -> Path:
    items = corpus()
    vectors = embedder.embed_passages([c.text for c in items])
    return snapshot.write(snapshot_dir(settings), "hs2022", items, vectors, embedder)


def test_a_matching_snapshot_supplies_every_vector(snap_settings: Settings) -> None:
    _write(snap_settings, FakeEmbedder())
    embedder = FakeEmbedder()
    report = ingest(snap_settings, "hs2022", chunks=corpus(), embedder=embedder)
    assert (report.snapshot, report.from_snapshot, report.embedded) == ("loaded", 6, 0)
    assert embedder.embedded == snapshot.PROBES  # only the guard's probes
    client = index.open_client(snap_settings)
    stored = index.dense_vectors(client, "shipdoc_hs2022", [c.point_id for c in corpus()])
    exact = embedder.embed_passages([c.text for c in corpus()])
    assert np.min(np.sum(stored * exact, axis=1)) > 0.999  # int8 loses next to nothing


@pytest.mark.parametrize(
    ("other", "why"),
    [
        (FakeEmbedder(model_id="fake/other@2"), "built with embedder"),
        (FakeEmbedder(dim=24), "(16-d)"),
        (FakeEmbedder(salt="other numerics"), "gives another vector"),
    ],
)
def test_a_snapshot_of_another_embedder_is_refused_and_rebuilt(
    snap_settings: Settings, other: FakeEmbedder, why: str
) -> None:
    _write(snap_settings, FakeEmbedder())
    report = ingest(snap_settings, "hs2022", chunks=corpus(), embedder=other)
    assert report.snapshot == "refused"
    assert why in report.snapshot_reason
    assert (report.from_snapshot, report.embedded) == (0, 6)
    client = index.open_client(snap_settings)
    stored = index.dense_vectors(client, "shipdoc_hs2022", [c.point_id for c in corpus()])
    exact = other.embed_passages([c.text for c in corpus()])
    assert np.allclose(stored, exact, atol=1e-5)


def test_a_snapshot_of_another_schema_is_refused(
    snap_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(snap_settings, FakeEmbedder())
    monkeypatch.setattr(snapshot, "SCHEMA_VERSION", snapshot.SCHEMA_VERSION + 1)
    report = ingest(snap_settings, "hs2022", chunks=corpus(), embedder=FakeEmbedder())
    assert (report.snapshot, report.from_snapshot, report.embedded) == ("refused", 0, 6)
    assert "schema" in report.snapshot_reason


def test_a_changed_corpus_embeds_only_the_changed_passages(snap_settings: Settings) -> None:
    _write(snap_settings, FakeEmbedder())
    embedder = FakeEmbedder()
    report = ingest(snap_settings, "hs2022", chunks=corpus(change="850760"), embedder=embedder)
    assert report.snapshot == "partial"
    assert "corpus text differs" in report.snapshot_reason
    assert (report.from_snapshot, report.embedded) == (5, 1)


def test_no_snapshot_and_opting_out_embed_everything(snap_settings: Settings) -> None:
    report = ingest(snap_settings, "hs2022", chunks=corpus(), embedder=FakeEmbedder())
    assert (report.snapshot, report.embedded) == ("absent", 6)
    _write(snap_settings, FakeEmbedder())
    again = ingest(
        snap_settings,
        "hs2022",
        chunks=corpus(),
        embedder=FakeEmbedder(),
        recreate=True,
        use_snapshot=False,
    )
    assert (again.snapshot, again.embedded) == ("unused", 6)


def test_kb_snapshot_writes_what_the_collection_holds(
    snap_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kb.ingest.load_chunks", lambda settings, corpus, path=None: corpus_())
    embedder = FakeEmbedder()
    path, report = write_snapshot(snap_settings, "hs2022", embedder=embedder)
    assert report.embedded == 6 and path.exists()
    manifest = snapshot.read_manifest(path.parent, "hs2022")
    assert manifest is not None
    assert manifest["embedder_model"] == "fake/e5@1" and manifest["embedder_dim"] == 16
    assert manifest["corpus_sha256"] == snapshot.corpus_sha256(corpus())
    assert manifest["count"] == 6


def corpus_() -> list[Chunk]:
    return corpus()


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
def test_the_matrix_index_ranks_as_qdrant_local_mode(snap_settings: Settings, mode: str) -> None:
    embedder = FakeEmbedder()
    ingest(snap_settings, "hs2022", chunks=corpus(), embedder=embedder)
    query = "cotton T-shirts and bicycles"
    dense = embedder.embed_queries([query])[0]
    lexical = sparse.query_vector(query)
    client = index.open_client(snap_settings)
    qdrant = index.query(
        client,
        "shipdoc_hs2022",
        dense=list(dense),
        sparse=lexical,
        mode=mode,  # type: ignore[arg-type]
        limit=5,
        flt=None,
    )
    ours = matrix.read(client, "shipdoc_hs2022").query(
        dense=dense,
        sparse=lexical,
        mode=mode,
        limit=5,  # type: ignore[arg-type]
    )
    assert [str(p.id) for p in qdrant] == [p.id for p in ours]
    assert np.allclose([p.score for p in qdrant], [p.score for p in ours], atol=1e-4)


def test_search_uses_the_matrix_in_local_mode_and_refuses_foreign_vectors(
    snap_settings: Settings,
) -> None:
    embedder = FakeEmbedder()
    ingest(snap_settings, "hs2022", chunks=corpus(), embedder=embedder)
    kb = KnowledgeBase(snap_settings, embedder=embedder)
    assert kb.uses_matrix
    hits = kb.search(TITLES["090111"], mode="dense", top=3, rewrite=False)
    assert hits[0].code == "090111"
    with pytest.raises(Exception, match="24-d query vector"):
        kb.points("coffee", mode="dense", dense_vector=[0.1] * 24, rewrite=False)


def test_the_matrix_copy_is_saved_reused_and_dropped_by_ingest(snap_settings: Settings) -> None:
    embedder = FakeEmbedder()
    ingest(snap_settings, "hs2022", chunks=corpus(), embedder=embedder)
    client = index.open_client(snap_settings)
    where = str(index.local_path(snap_settings).resolve())
    first = matrix.get(client, where, "shipdoc_hs2022")
    saved = matrix.cache_path(where, "shipdoc_hs2022")
    assert saved.exists()
    matrix.forget()  # a new process: only the file is left
    again = matrix.get(client, where, "shipdoc_hs2022")
    assert again is not first and again.ids == first.ids
    query = "cotton T-shirts"
    dense, lexical = embedder.embed_queries([query])[0], sparse.query_vector(query)
    for mode in ("dense", "sparse", "hybrid"):
        a = first.query(dense=dense, sparse=lexical, mode=mode, limit=6)  # type: ignore[arg-type]
        b = again.query(dense=dense, sparse=lexical, mode=mode, limit=6)  # type: ignore[arg-type]
        assert [(p.id, round(p.score, 5)) for p in a] == [(p.id, round(p.score, 5)) for p in b]
    ingest(snap_settings, "hs2022", chunks=corpus(), embedder=embedder)
    assert saved.exists()  # nothing changed: the copies stay
    assert matrix.get(client, where, "shipdoc_hs2022") is again
    ingest(snap_settings, "hs2022", chunks=corpus(change="090111"), embedder=embedder)
    assert not saved.exists()  # the collection changed: the copy is dropped
    fresh = matrix.get(client, where, "shipdoc_hs2022")
    coffee = fresh.ids.index(corpus()[3].point_id)
    assert fresh.payloads[coffee]["text"].endswith("(revised)")
