"""Stable-prefix states on the in-process model: a document's first extraction request with
a cold cache vs with its system turn restored from a saved state, in the same run.

    PYTHONPATH=$PWD .venv/bin/python bench/prefix.py [--model qwen2.5-1.5b] [--file ID]

The request is the pipeline's first extraction request for a golden dev file (system turn
of its type with the output shape, then the document; pages as bench/prompt_size.py reads
them), with ``max_tokens=1`` so that the seconds are the prefill. Cold: empty context, no
saved state (a fresh process, or llama-cpp-python alone after any other request). Then the
classify request of the same file replaces the context, as another request does in a run,
and the extraction request is sent again: its system turn comes from the saved state and
only the document is prefilled. Prints prompt tokens evaluated and seconds for both, and
their ratios; the replies of a longer request (``--reply-tokens``) must be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.classify import classify_request, keyword_type  # noqa: E402
from agent.extraction import extraction_messages  # noqa: E402
from agent.models.base import ChatRequest, ChatResponse  # noqa: E402
from agent.models.fetch import fetch  # noqa: E402
from agent.models.llama_local import LlamaLocalModel  # noqa: E402
from bench.prompt_size import pages_of  # noqa: E402
from core.settings import Settings  # noqa: E402
from evals.corpus import build_item  # noqa: E402
from evals.goldenset import load_golden_truth  # noqa: E402

SPLIT = ROOT / "evals" / "golden" / "split.json"


def timed(model: LlamaLocalModel, request: ChatRequest) -> tuple[ChatResponse, float]:
    started = time.monotonic()
    reply = model.chat(request)
    return reply, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", default="qwen2.5-1.5b")
    parser.add_argument("--file", default="", help="a golden dev file id (default: first invoice)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reply-tokens", type=int, default=0, help="also compare replies")
    args = parser.parse_args()
    dev = json.loads(SPLIT.read_text("utf-8"))["dev"]
    file_id = args.file or next(i for i in dev if i.endswith("-inv"))
    truth = next(t for t in load_golden_truth() if t.id == file_id)
    data, _ = build_item(truth.spec)
    pages = pages_of(file_id, data)
    doc_type = keyword_type("\n".join(p.text for p in pages)) or truth.spec.doc_types[0]
    path = fetch(args.model, Settings().model.cache_dir)
    model = LlamaLocalModel(path=path, name=args.model, n_ctx=8192, n_threads=args.threads)
    load_s = model.load()
    states = model._loaded().prefixes
    assert states is not None

    def cold() -> None:
        states.llama.reset()
        states._ram.clear()

    messages = extraction_messages(doc_type, pages)
    extract = ChatRequest(messages=messages, max_tokens=1, timeout_s=3600)
    other = classify_request(pages).model_copy(update={"timeout_s": 3600})

    cold()
    first, cold_s = timed(model, extract)
    model.chat(other)
    second, warm_s = timed(model, extract)
    cold_eval = first.usage.prompt_tokens - first.usage.cached_prompt_tokens
    warm_eval = second.usage.prompt_tokens - second.usage.cached_prompt_tokens
    print(f"{args.model}, {args.threads} threads, load {load_s:.1f} s; {file_id} ({doc_type}),")
    print(f"  {len(pages)} page(s), {first.usage.prompt_tokens} prompt tokens")
    print(f"cold:     {cold_eval:>5} tokens evaluated, {cold_s:6.2f} s")
    print(
        f"restored: {warm_eval:>5} tokens evaluated, {warm_s:6.2f} s  "
        f"({second.usage.cached_prompt_tokens} from the saved system turn)"
    )
    print(
        f"ratio cold/restored: tokens {cold_eval / max(warm_eval, 1):.2f}x, "
        f"seconds {cold_s / warm_s:.2f}x"
    )
    if args.reply_tokens:
        longer = extract.model_copy(update={"max_tokens": args.reply_tokens})
        cold()
        a = model.chat(longer)
        model.chat(other)
        b = model.chat(longer)
        print(f"replies of {args.reply_tokens} tokens equal: {a.content == b.content}")
    print(f"cores: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
