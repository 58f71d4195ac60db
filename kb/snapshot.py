"""Prebuilt vectors of the tariff corpora, shipped as package data, verified on load.

Embedding HS2022 + CN 2026 (~16.7k passages) takes 20-30 minutes on two cores; a snapshot
takes seconds. ``kb/snapshot/<corpus>.npz`` holds, for every chunk in corpus order:
its key, the first 8 bytes of its text's sha256, and its dense vector as int8 with one
scale per row; plus a manifest (embedder id and dimension, schema version, sha256 of the
corpus text, count). ``shipdoc kb snapshot`` writes it from the built collection.

On load the guard checks the manifest against the configured embedder (id, dimension) and
this code (schema version), then re-embeds a few snapshot passages and compares: a
snapshot from another model, or from the same file name with other numerics, is refused
and the corpus is embedded from scratch. When only the corpus text differs, rows whose
text is unchanged are reused and the rest are embedded (vectors depend on the text alone).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kb.chunks import SCHEMA_VERSION, Chunk
from kb.embedders import Embedder, Vectors

log = logging.getLogger(__name__)

DEFAULT_DIR = Path(__file__).parent / "snapshot"
SNAPSHOT_FORMAT = 1
PROBES = 3
PROBE_MIN_COSINE = 0.98
_TEXT_HASH_BYTES = 8


def text_digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:_TEXT_HASH_BYTES]


def corpus_sha256(chunks: list[Chunk]) -> str:
    """sha256 over every chunk's key and passage text, in corpus order."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(f"{chunk.key}\t{chunk.text}\n".encode())
    return digest.hexdigest()


def path_for(folder: Path, corpus: str) -> Path:
    return folder / f"{corpus}.npz"


def quantize(vectors: Vectors) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Symmetric int8 per row: ``row ~= q * scale``."""
    scale = np.abs(vectors).max(axis=1) / 127.0
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def dequantize(q: npt.NDArray[np.int8], scale: npt.NDArray[np.float32]) -> Vectors:
    rows = q.astype(np.float32) * scale[:, None]
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    out: Vectors = rows / np.maximum(norms, 1e-12)
    return out


def write(
    folder: Path, corpus: str, chunks: list[Chunk], vectors: Vectors, embedder: Embedder
) -> Path:
    """Write ``<folder>/<corpus>.npz`` for these chunks and their vectors (same order)."""
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    manifest = {
        "format": SNAPSHOT_FORMAT,
        "corpus": corpus,
        "embedder_model": embedder.model_id,
        "embedder_dim": embedder.dim,
        "schema_version": SCHEMA_VERSION,
        "corpus_sha256": corpus_sha256(chunks),
        "count": len(chunks),
        "dtype": "int8",
    }
    q, scale = quantize(np.asarray(vectors, dtype=np.float32))
    folder.mkdir(parents=True, exist_ok=True)
    target = path_for(folder, corpus)
    tmp = target.with_name(target.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        manifest=np.array(json.dumps(manifest, sort_keys=True)),
        keys=np.array([c.key for c in chunks]),
        text_sha=np.frombuffer(
            b"".join(text_digest(c.text) for c in chunks), dtype=np.uint8
        ).reshape(len(chunks), _TEXT_HASH_BYTES),
        vectors=q,
        scale=scale,
    )
    tmp.replace(target)
    return target


@dataclass
class Loaded:
    """Vectors a snapshot can supply, by text digest, and how it was judged."""

    status: str  # loaded | partial | refused | absent
    reason: str
    vectors: dict[bytes, Vectors]

    def vector_for(self, chunk: Chunk) -> Vectors | None:
        return self.vectors.get(text_digest(chunk.text))


def read_manifest(folder: Path, corpus: str) -> dict[str, Any] | None:
    path = path_for(folder, corpus)
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        manifest: dict[str, Any] = json.loads(str(data["manifest"]))
    return manifest


def load(folder: Path, corpus: str, chunks: list[Chunk], embedder: Embedder) -> Loaded:
    """Verify the snapshot for this corpus against the embedder and code; the usable rows."""
    path = path_for(folder, corpus)
    if not path.exists():
        return Loaded("absent", f"no snapshot at {path}", {})
    with np.load(path, allow_pickle=False) as data:
        manifest = json.loads(str(data["manifest"]))
        refusal = _refusal(manifest, embedder)
        if refusal:
            return _refused(path, refusal)
        rows = dequantize(data["vectors"], data["scale"])
        digests = [bytes(row) for row in data["text_sha"]]
    if rows.shape[1] != embedder.dim:
        return _refused(path, f"stored vectors are {rows.shape[1]}-d, not {embedder.dim}-d")
    by_digest = {d: rows[i] for i, d in enumerate(digests)}
    wanted = {text_digest(c.text): c for c in chunks}
    probe_refusal = _probe(
        embedder, [(c, by_digest[d]) for d, c in wanted.items() if d in by_digest]
    )
    if probe_refusal:
        return _refused(path, probe_refusal)
    usable = {d: v for d, v in by_digest.items() if d in wanted}
    if manifest["corpus_sha256"] == corpus_sha256(chunks):
        return Loaded("loaded", f"{len(usable)} vectors from {path.name}", usable)
    missing = len(wanted) - len(usable)
    reason = (
        f"corpus text differs from the snapshot's (sha256 {manifest['corpus_sha256'][:12]}); "
        f"{len(usable)} unchanged passages reused, {missing} to embed; "
        "refresh it with `shipdoc kb snapshot`"
    )
    log.warning("kb snapshot %s: %s", corpus, reason)
    return Loaded("partial", reason, usable)


def _refusal(manifest: dict[str, Any], embedder: Embedder) -> str:
    if manifest.get("format") != SNAPSHOT_FORMAT:
        return f"snapshot format {manifest.get('format')}, this code reads {SNAPSHOT_FORMAT}"
    if (manifest.get("embedder_model"), manifest.get("embedder_dim")) != (
        embedder.model_id,
        embedder.dim,
    ):
        return (
            f"built with embedder {manifest.get('embedder_model')!r} "
            f"({manifest.get('embedder_dim')}-d), the configured one is {embedder.model_id!r} "
            f"({embedder.dim}-d)"
        )
    if manifest.get("schema_version") != SCHEMA_VERSION:
        return f"schema {manifest.get('schema_version')}, this code writes {SCHEMA_VERSION}"
    return ""


def _probe(embedder: Embedder, pairs: list[tuple[Chunk, Vectors]]) -> str:
    """Re-embed a few stored passages: the same id must also mean the same numbers."""
    if not pairs:
        return ""
    step = max(1, len(pairs) // PROBES)
    sample = pairs[::step][:PROBES]
    fresh = embedder.embed_passages([c.text for c, _ in sample])
    for (chunk, stored), vector in zip(sample, fresh, strict=True):
        cosine = float(np.dot(stored, vector) / max(float(np.linalg.norm(vector)), 1e-12))
        if cosine < PROBE_MIN_COSINE:
            return (
                f"the configured embedder gives another vector for {chunk.key!r} "
                f"(cosine {cosine:.3f} < {PROBE_MIN_COSINE})"
            )
    return ""


def _refused(path: Path, reason: str) -> Loaded:
    log.warning("kb snapshot %s refused: %s; embedding from scratch", path.name, reason)
    return Loaded("refused", reason, {})
