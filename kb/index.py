"""The Qdrant side: client, collection layout, the embedder record, upserts and queries.

One collection per corpus, each with a named dense vector ``dense``, a sparse lexical
vector ``lexical`` (IDF applied by Qdrant) and payloads. The embedder that built a
collection is recorded in the collection's metadata and checked on every use.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from core.settings import KbSettings, Settings
from kb.chunks import SCHEMA_VERSION
from kb.errors import CollectionMissing, EmbedderMismatch, KbUnavailable, SchemaMismatch
from kb.sparse import SPARSE_SCHEMA

DENSE = "dense"
LEXICAL = "lexical"
CORPORA = ("hs2022", "cn2026", "docs")
Mode = Literal["hybrid", "dense", "sparse"]

_lock = threading.Lock()


@dataclass(frozen=True)
class EmbedderRecord:
    model_id: str
    dim: int
    schema_version: int = SCHEMA_VERSION
    sparse: str = SPARSE_SCHEMA

    def as_metadata(self) -> dict[str, Any]:
        return {
            "embedder_model": self.model_id,
            "embedder_dim": self.dim,
            "schema_version": self.schema_version,
            "sparse_schema": self.sparse,
        }


def collection_name(kb: KbSettings, corpus: str) -> str:
    return f"{kb.collection_prefix}_{corpus}"


def local_path(settings: Settings) -> Path:
    return settings.kb.qdrant_path or settings.var_dir / "qdrant"


def open_client(settings: Settings) -> QdrantClient:
    """The server named by the settings, else local mode under ``var/`` (one per path)."""
    kb = settings.kb
    if kb.qdrant_url:
        return _server_client(
            kb.qdrant_url,
            kb.qdrant_api_key.get_secret_value() if kb.qdrant_api_key else None,
            kb.qdrant_timeout_s,
        )
    path = str(local_path(settings).resolve())
    with _lock:
        client = _LOCAL.get(path)
        if client is None:
            Path(path).mkdir(parents=True, exist_ok=True)
            try:
                client = QdrantClient(path=path)
            except RuntimeError as exc:  # portalocker: another process holds the folder
                raise KbUnavailable(
                    f"Qdrant local storage {path} is in use by another process ({exc}); "
                    "local mode allows one process at a time, set SHIPDOC_QDRANT_URL "
                    "to share a server"
                ) from exc
            _LOCAL[path] = client
        return client


_LOCAL: dict[str, QdrantClient] = {}


@lru_cache(maxsize=8)
def _server_client(url: str, api_key: str | None, timeout_s: float) -> QdrantClient:
    return QdrantClient(
        url=url, api_key=api_key, timeout=int(max(1, timeout_s)), check_compatibility=False
    )


def close_local_clients() -> None:
    """Release local-mode storage locks (tests, and before another process opens the path)."""
    with _lock:
        for client in _LOCAL.values():
            client.close()
        _LOCAL.clear()


atexit.register(close_local_clients)


_RETRIES = 3


def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a client call; retry connection failures, then raise ``KbUnavailable``."""
    retrying = Retrying(
        stop=stop_after_attempt(_RETRIES),
        wait=wait_exponential(multiplier=0.2, max=2.0),
        retry=retry_if_exception_type(_CONNECTION_ERRORS),
        reraise=True,
    )
    try:
        return retrying(fn, *args, **kwargs)
    except _CONNECTION_ERRORS as exc:
        raise KbUnavailable(
            f"Qdrant is unreachable after {_RETRIES} attempts ({exc}); check "
            "SHIPDOC_QDRANT_URL or unset it to use local mode"
        ) from exc
    except UnexpectedResponse as exc:
        if exc.status_code == 404:
            raise CollectionMissing(str(kwargs.get("collection_name", "?"))) from exc
        raise KbUnavailable(f"Qdrant answered {exc.status_code}: {exc.content!r}") from exc


_CONNECTION_ERRORS = (ResponseHandlingException, ConnectionError, TimeoutError)


def exists(client: QdrantClient, name: str) -> bool:
    return bool(call(client.collection_exists, collection_name=name))


def recorded(client: QdrantClient, name: str) -> EmbedderRecord:
    if not exists(client, name):
        raise CollectionMissing(name)
    info = call(client.get_collection, collection_name=name)
    meta: dict[str, Any] = info.config.metadata or {}
    return EmbedderRecord(
        model_id=str(meta.get("embedder_model", "<unrecorded>")),
        dim=int(meta.get("embedder_dim", -1)),
        schema_version=int(meta.get("schema_version", -1)),
        sparse=str(meta.get("sparse_schema", "<unrecorded>")),
    )


def verify(client: QdrantClient, name: str, current: EmbedderRecord) -> None:
    """Refuse a collection that another embedder (or schema) built."""
    have = recorded(client, name)
    if (have.model_id, have.dim) != (current.model_id, current.dim):
        raise EmbedderMismatch(
            f"collection {name!r} was built with embedder {have.model_id!r} "
            f"({have.dim}-d) but the configured embedder is {current.model_id!r} "
            f"({current.dim}-d); queries would silently lose recall. Configure the "
            "original embedder, or rebuild with `shipdoc kb ingest --recreate`"
        )
    if (have.schema_version, have.sparse) != (current.schema_version, current.sparse):
        raise SchemaMismatch(
            f"collection {name!r} has schema {have.schema_version}/{have.sparse}, this "
            f"version of shipdoc writes {current.schema_version}/{current.sparse}; "
            "rebuild with `shipdoc kb ingest --recreate`"
        )


def fast_local_writes(client: QdrantClient, name: str) -> None:
    """Local mode commits (and fsyncs) SQLite once per point: ~50 points/s on a busy disk,
    minutes for the tariff corpora. WAL with ``synchronous=NORMAL`` makes each commit an
    append without fsync; a crash can lose only the last writes of a collection that ingest
    rebuilds anyway. Reaches into qdrant-client's local storage (pinned 1.20.0); a client
    without it keeps its defaults."""
    local = getattr(client, "_client", None)
    collection = getattr(local, "collections", {}).get(name)
    storage = getattr(getattr(collection, "storage", None), "storage", None)
    if storage is not None and hasattr(storage, "execute"):
        storage.execute("PRAGMA journal_mode=WAL")
        storage.execute("PRAGMA synchronous=NORMAL")


def create(client: QdrantClient, kb: KbSettings, name: str, record: EmbedderRecord) -> None:
    _dims.pop((id(client), name), None)
    quantization = (
        models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(
                type=models.ScalarType.INT8, quantile=0.99, always_ram=True
            )
        )
        if kb.quantization == "scalar"
        else None
    )
    call(
        client.create_collection,
        collection_name=name,
        vectors_config={
            DENSE: models.VectorParams(
                size=record.dim, distance=models.Distance.COSINE, on_disk=kb.on_disk
            )
        },
        sparse_vectors_config={
            LEXICAL: models.SparseVectorParams(
                modifier=models.Modifier.IDF,
                index=models.SparseIndexParams(on_disk=kb.on_disk),
            )
        },
        hnsw_config=models.HnswConfigDiff(m=kb.hnsw_m, ef_construct=kb.hnsw_ef_construct),
        quantization_config=quantization,
        on_disk_payload=kb.on_disk,
        metadata=record.as_metadata(),
    )
    if kb.qdrant_url:  # local mode has no payload indexes (it scans)
        for field, schema in (
            ("level", models.PayloadSchemaType.INTEGER),
            ("source", models.PayloadSchemaType.KEYWORD),
            ("language", models.PayloadSchemaType.KEYWORD),
            ("code", models.PayloadSchemaType.KEYWORD),
        ):
            call(
                client.create_payload_index,
                collection_name=name,
                field_name=field,
                field_schema=schema,
            )


def existing_hashes(client: QdrantClient, name: str) -> dict[str, str]:
    """point id -> content hash of everything stored."""
    out: dict[str, str] = {}
    offset: Any = None
    while True:
        points, offset = call(
            client.scroll,
            collection_name=name,
            limit=2048,
            offset=offset,
            with_payload=["content_hash"],
            with_vectors=False,
        )
        for p in points:
            out[str(p.id)] = str((p.payload or {}).get("content_hash", ""))
        if offset is None:
            return out


def build_filter(
    level: int | None = None, source: str | None = None, language: str | None = None
) -> models.Filter | None:
    must: list[models.Condition] = []
    for key, value in (("level", level), ("source", source), ("language", language)):
        if value is not None:
            must.append(models.FieldCondition(key=key, match=models.MatchValue(value=value)))
    return models.Filter(must=must) if must else None


_dims: dict[tuple[int, str], int] = {}


def query(
    client: QdrantClient,
    name: str,
    *,
    dense: Sequence[float] | None,
    sparse: models.SparseVector | None,
    mode: Mode,
    limit: int,
    flt: models.Filter | None,
) -> list[models.ScoredPoint]:
    if mode == "dense" or (mode == "hybrid" and sparse is None):
        assert dense is not None
        kwargs: dict[str, Any] = {"query": list(dense), "using": DENSE}
    elif mode == "sparse" or dense is None:
        assert sparse is not None
        kwargs = {"query": sparse, "using": LEXICAL}
    else:
        depth = max(limit * 4, 50)
        kwargs = {
            "prefetch": [
                models.Prefetch(query=list(dense), using=DENSE, limit=depth, filter=flt),
                models.Prefetch(query=sparse, using=LEXICAL, limit=depth, filter=flt),
            ],
            "query": models.FusionQuery(fusion=models.Fusion.RRF),
        }
    if dense is not None:
        expected = _dims.get((id(client), name)) or recorded(client, name).dim
        _dims[(id(client), name)] = expected
        if len(dense) != expected:
            raise EmbedderMismatch(
                f"a {len(dense)}-d query vector was sent to collection {name!r}, which holds "
                f"{expected}-d vectors of {recorded(client, name).model_id!r}; refusing"
            )
    result = call(
        client.query_points,
        collection_name=name,
        query_filter=flt,
        limit=limit,
        with_payload=True,
        **kwargs,
    )
    points: list[models.ScoredPoint] = result.points
    return points


def dense_vectors(client: QdrantClient, name: str, ids: Sequence[str]) -> npt.NDArray[np.float32]:
    """The stored dense vectors of these points, in this order (float32 matrix)."""
    found: dict[str, list[float]] = {}
    for start in range(0, len(ids), 2048):
        for p in call(
            client.retrieve,
            collection_name=name,
            ids=list(ids[start : start + 2048]),
            with_payload=False,
            with_vectors=[DENSE],
        ):
            vector = p.vector if isinstance(p.vector, dict) else {}
            found[str(p.id)] = list(vector[DENSE])
    missing = [i for i in ids if i not in found]
    if missing:
        raise CollectionMissing(f"{name} (missing {len(missing)} points)")
    return np.asarray([found[i] for i in ids], dtype=np.float32)
