"""Knowledge-base ingestion on the ``kb`` queue: bring the docs collection up to date.

Incremental (only changed chunks are embedded), so a repeated or redelivered task costs
little and never duplicates points: each chunk has a stable point id.
"""

from __future__ import annotations

from typing import Any

from core.settings import Settings
from kb.ingest import ingest


def ingest_docs(settings: Settings) -> dict[str, Any]:
    report = ingest(settings, "docs")
    return report.model_dump()
