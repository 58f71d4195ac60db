"""Ingestion: markdown chunking, incremental re-ingest by content hash, stale removal."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings
from kb import index
from kb.corpora.docs import MAX_CHARS, chunk_markdown
from kb.ingest import ingest
from kb.search import KnowledgeBase

SOURCES = Path(__file__).resolve().parent.parent / "kb" / "sources"


def test_markdown_is_chunked_by_heading_with_its_heading_path() -> None:
    text = (SOURCES / "procedure-damaged-cargo.md").read_text(encoding="utf-8")
    chunks = chunk_markdown("procedure-damaged-cargo.md", text)
    headings = [c.payload["heading"] for c in chunks]
    assert "Procedure: damaged cargo > Notify and claim" in headings
    claim = next(c for c in chunks if c.payload["heading"].endswith("Notify and claim"))
    assert claim.text.startswith("Procedure: damaged cargo > Notify and claim\n\n")
    assert "Hague-Visby" in claim.text
    assert "Remarks on the transport document" not in claim.text


def test_long_sections_are_split_with_one_paragraph_of_overlap() -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 60 for i in range(8)]
    text = "# Guide\n\n## Long section\n\n" + "\n\n".join(paragraphs) + "\n\n## Next\n\nshort"
    chunks = chunk_markdown("guide.md", text)
    long_parts = [c for c in chunks if c.payload["heading"] == "Guide > Long section"]
    assert len(long_parts) >= 3
    assert all(len(c.text) <= MAX_CHARS + 400 for c in long_parts)
    for before, after in itertools.pairwise(long_parts):
        last_paragraph = before.text.split("\n\n")[-1]
        assert after.text.split("\n\n")[1] == last_paragraph  # repeated at the start
    assert chunks[-1].payload["heading"] == "Guide > Next"


@pytest.fixture
def docs_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "sources"
    folder.mkdir()
    for name in ("procedure-customs-hold.md", "procedure-damaged-cargo.md"):
        shutil.copy(SOURCES / name, folder / name)
    yield folder
    index.close_local_clients()


def test_reingest_is_incremental_and_removes_stale_chunks(
    settings: Settings, docs_dir: Path
) -> None:
    first = ingest(settings, "docs", path=docs_dir)
    assert first.embedded == first.total > 8
    again = ingest(settings, "docs", path=docs_dir)
    assert (again.embedded, again.removed, again.unchanged) == (0, 0, first.total)

    hold = docs_dir / "procedure-customs-hold.md"
    hold.write_text(
        hold.read_text(encoding="utf-8").replace("within two working days", "within one day"),
        encoding="utf-8",
    )
    (docs_dir / "procedure-damaged-cargo.md").unlink()
    changed = ingest(settings, "docs", path=docs_dir)
    assert changed.embedded == 1  # only the edited section
    assert changed.removed == first.total - changed.total  # the deleted file's chunks
    client = index.open_client(settings)
    assert index.call(client.count, collection_name="shipdoc_docs").count == changed.total

    hits = KnowledgeBase(settings).search_docs("how fast must a customs hold be released?")
    assert hits[0].file == "procedure-customs-hold.md"
    assert "within one day" in " ".join(h.text for h in hits)
    assert all(h.file != "procedure-damaged-cargo.md" for h in hits)
