"""Errors of the knowledge base: bad queries apart from infrastructure and configuration."""

from __future__ import annotations

from core.errors import ConfigurationError, DependencyMissing, InputError, NotFound


class BadQuery(InputError):
    """An empty or oversized query, or a filter value that does not exist."""

    code = "bad_query"


class CollectionMissing(NotFound):
    """The collection has not been built yet."""

    code = "kb_collection_missing"

    def __init__(self, collection: str) -> None:
        super().__init__(
            f"the knowledge-base collection {collection!r} does not exist; "
            "run `shipdoc kb ingest` to build it"
        )
        self.collection = collection


class EmbedderMismatch(ConfigurationError):
    """A collection was built by another embedder than the one configured now."""

    code = "embedder_mismatch"


class SchemaMismatch(ConfigurationError):
    """A collection was built with another payload/vector schema version."""

    code = "kb_schema_mismatch"


class KbUnavailable(DependencyMissing):
    """The vector store or the embeddings server cannot be reached."""

    code = "kb_unavailable"
