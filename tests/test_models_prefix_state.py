"""Stable-prefix states on the real local model (Qwen2.5-Coder-0.5B): the extraction
prompt's system turn is prefilled once, restored afterwards (from RAM, then from disk in a
fresh cache), and a reply after a restore is the reply of a cold model."""

from __future__ import annotations

import pytest

from agent.classify import classify_request
from agent.extraction import extraction_messages
from agent.models.base import ChatRequest, ChatResponse
from agent.models.fetch import fetch
from agent.models.llama_local import LlamaLocalModel
from agent.models.prefix_state import MIN_PREFIX_TOKENS, PrefixStates
from core.settings import Settings
from tools.provenance import PageText

pytestmark = [pytest.mark.model, pytest.mark.slow]

MODEL_KEY = "qwen2.5-0.5b"
# A context size no other test uses: this module gets its own loaded model and states.
N_CTX = 3072
PAGE = PageText(
    number=1,
    text="COMMERCIAL INVOICE\nInvoice No. INV-2231   Date 01.03.2026\n"
    "Seller: ACME GmbH, Hafenstr. 1, 20457 Hamburg, DE\nTotal EUR 1.250,50",
)
EXTRACT = ChatRequest(
    messages=extraction_messages("commercial_invoice", [PAGE]), max_tokens=24, temperature=0.0
)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> LlamaLocalModel:
    gguf = fetch(MODEL_KEY, Settings().model.cache_dir)
    folder = tmp_path_factory.mktemp("prefix-states")
    return LlamaLocalModel(path=gguf, name=MODEL_KEY, n_ctx=N_CTX, n_threads=2, prefix_dir=folder)


def _states(model: LlamaLocalModel) -> PrefixStates:
    states = model._loaded().prefixes
    assert states is not None
    return states


def _cold(model: LlamaLocalModel) -> None:
    """Nothing in the context, no saved state: as a fresh process without a cache."""
    states = _states(model)
    states.llama.reset()
    states._ram.clear()
    assert states.directory is not None
    for path in states.directory.glob("*.kv"):
        path.unlink()


def _evaluated(reply: ChatResponse) -> int:
    return reply.usage.prompt_tokens - reply.usage.cached_prompt_tokens


def test_restored_prefix_prefills_only_the_document_and_replies_as_cold(
    model: LlamaLocalModel,
) -> None:
    _cold(model)
    cold = model.chat(EXTRACT)
    assert cold.usage.cached_prompt_tokens == 0  # prefix evaluated (and saved) by this request
    model.chat(classify_request([PAGE]))  # another system turn replaces the context
    warm = model.chat(EXTRACT)
    assert warm.content == cold.content
    assert warm.usage.prompt_tokens == cold.usage.prompt_tokens
    assert warm.usage.cached_prompt_tokens >= MIN_PREFIX_TOKENS
    assert _evaluated(warm) < _evaluated(cold) - MIN_PREFIX_TOKENS


def test_prefix_state_from_disk_in_a_fresh_cache(model: LlamaLocalModel) -> None:
    _cold(model)
    cold = model.chat(EXTRACT)
    states = _states(model)
    assert states.directory is not None and list(states.directory.glob("*.kv"))
    # A new process: nothing in RAM, nothing in the context, the file on disk.
    states.llama.reset()
    states._ram.clear()
    warm = model.chat(EXTRACT)
    assert warm.content == cold.content
    assert warm.usage.cached_prompt_tokens >= MIN_PREFIX_TOKENS


def test_damaged_state_file_is_a_miss(model: LlamaLocalModel) -> None:
    _cold(model)
    cold = model.chat(EXTRACT)
    states = _states(model)
    assert states.directory is not None
    for path in states.directory.glob("*.kv"):
        path.write_bytes(b"not a state")
    states.llama.reset()
    states._ram.clear()
    again = model.chat(EXTRACT)
    assert again.content == cold.content
    assert again.usage.cached_prompt_tokens == 0  # evaluated again, and saved again
    assert all(p.read_bytes() != b"not a state" for p in states.directory.glob("*.kv"))
