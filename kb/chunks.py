"""The unit of ingestion: a text to embed plus the payload stored beside it."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict

# Bump when passage texts, payload fields or the sparse recipe change: old collections are
# then refused until rebuilt (`shipdoc kb ingest --recreate`).
SCHEMA_VERSION = 1
_NAMESPACE = uuid.UUID("6f1d7c1e-3b1a-4c55-9a53-5a1f2a0e4b7d")


class Chunk(BaseModel):
    """One point of a collection. ``key`` is stable across re-ingests (code or file#n)."""

    model_config = ConfigDict(frozen=True)

    key: str
    text: str
    payload: dict[str, Any]

    @property
    def point_id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, self.key))

    @property
    def content_hash(self) -> str:
        blob = json.dumps(
            {"v": SCHEMA_VERSION, "text": self.text, "payload": self.payload},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()
