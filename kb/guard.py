"""The embedding guard: every collection must have been built by the configured embedder.

The worker and the API call ``check_embedder`` at start-up; ``shipdoc kb check`` prints it.
"""

from __future__ import annotations

from pydantic import BaseModel

from core.settings import Settings
from kb import index
from kb.embedders import Embedder, make_embedder
from kb.errors import CollectionMissing


class CollectionStatus(BaseModel):
    collection: str
    status: str  # ok | missing
    embedder_model: str = ""
    embedder_dim: int = 0
    schema_version: int = 0
    points: int = 0


def check_embedder(
    settings: Settings, *, embedder: Embedder | None = None, require_all: bool = False
) -> list[CollectionStatus]:
    """Raise ``EmbedderMismatch``/``SchemaMismatch`` if any existing collection was built
    by another embedder; with ``require_all`` a missing collection raises too."""
    embedder = embedder or make_embedder(settings.kb)
    current = index.EmbedderRecord(model_id=embedder.model_id, dim=embedder.dim)
    client = index.open_client(settings)
    out = []
    for corpus in index.CORPORA:
        name = index.collection_name(settings.kb, corpus)
        if not index.exists(client, name):
            if require_all:
                raise CollectionMissing(name)
            out.append(CollectionStatus(collection=name, status="missing"))
            continue
        index.verify(client, name, current)
        count = index.call(client.count, collection_name=name, exact=True).count
        out.append(
            CollectionStatus(
                collection=name,
                status="ok",
                embedder_model=current.model_id,
                embedder_dim=current.dim,
                schema_version=current.schema_version,
                points=int(count),
            )
        )
    return out
