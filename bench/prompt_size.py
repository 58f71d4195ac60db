"""Prompt tokens per page and the requests decided before the model, over golden files.

    PYTHONPATH=$PWD .venv/bin/python bench/prompt_size.py [--split dev] [--model qwen2.5-1.5b]

The model does not run: each file of the split is parsed as the pipeline parses it (OCR for
scans; the pages are cached under var/bench/prompt_size/, keyed by the file's sha256),
grouped and typed by keywords (a group they leave open costs one classify request), cut
into windows, and each request the pipeline would send first (classify, one extraction
request per window) is rendered with the model's own chat template and counted with its
tokenizer (``Llama(vocab_only=True)``). Repair requests depend on the replies and are not
counted: the request figures are the floor a run starts from.

Prints, per document: requests before any repair and prompt tokens per page (median, p90;
targets of issue #12: requests median <= 2, p90 <= 4; prompt tokens per page median
<= 1,500), and per document type the stable prefix (system turn) every extraction request
of that type starts with.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.classify import classify_request, keyword_type, scores, split_groups  # noqa: E402
from agent.extraction import extraction_messages  # noqa: E402
from agent.models.base import ChatRequest  # noqa: E402
from agent.models.fetch import cached_path  # noqa: E402
from agent.models.llama_local import LlamaLocalModel, vocab  # noqa: E402
from agent.models.prefix_state import _Template  # noqa: E402
from agent.windows import plan_windows  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.stats import percentile  # noqa: E402
from evals.goldenset import load_golden_truth  # noqa: E402
from evals.grouping import golden_pages  # noqa: E402
from tools.provenance import PageText  # noqa: E402

CACHE = ROOT / "var" / "bench" / "prompt_size"
SPLIT = ROOT / "evals" / "golden" / "split.json"


class Counter:
    """Tokens of a request as llama-cpp-python would send it to the named model."""

    def __init__(self, model_key: str) -> None:
        path = cached_path(model_key, Settings().model.cache_dir)
        self.llama: Any = vocab(path)
        self.template = _Template(self.llama)
        self.model = LlamaLocalModel(path=path, name=model_key)

    def count(self, request: ChatRequest) -> tuple[int, int]:
        """Prompt tokens and the stable prefix's tokens."""
        found = self.template.tokens(self.llama, self.model.request_kwargs(request))
        if found is None:
            raise SystemExit("the model's chat template did not render")
        return len(found[0]), found[1]


def measure(file_id: str, pages: list[PageText], counter: Counter, window: int) -> dict[str, Any]:
    requests = 0
    tokens = 0
    classify_requests = 0
    prefixes: dict[str, int] = {}
    for group in split_groups(pages):
        text = "\n".join(p.text for p in group)
        doc_type = keyword_type(text)
        if doc_type is None:
            classify_requests += 1
            requests += 1
            tokens += counter.count(classify_request(group))[0]
            doc_type = max(scores(text).items(), key=lambda kv: kv[1])[0]
        for part in plan_windows(group, window):
            request = ChatRequest(messages=extraction_messages(doc_type, part))
            total, prefix = counter.count(request)
            requests += 1
            tokens += total
            prefixes[doc_type] = prefix
    return {
        "id": file_id,
        "pages": len(pages),
        "requests": requests,
        "classify_requests": classify_requests,
        "prompt_tokens": tokens,
        "tokens_per_page": tokens / max(len(pages), 1),
        "prefixes": prefixes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    parser.add_argument("--model", default="qwen2.5-1.5b")
    parser.add_argument("--limit", type=int, default=0, help="first N files only")
    args = parser.parse_args()
    wanted = json.loads(SPLIT.read_text("utf-8"))[args.split]
    truths = {t.id: t for t in load_golden_truth()}
    ids = wanted[: args.limit] if args.limit else wanted
    counter = Counter(args.model)
    window = Settings().agent.window_tokens
    rows = []
    for file_id in ids:
        pages = golden_pages(truths[file_id], CACHE)
        rows.append(measure(file_id, pages, counter, window))
    requests = [float(r["requests"]) for r in rows]
    per_page = [float(r["tokens_per_page"]) for r in rows]
    prefixes: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        for doc_type, size in r["prefixes"].items():
            prefixes[doc_type].add(size)
    print(f"{len(rows)} {args.split} files, {sum(int(r['pages']) for r in rows)} pages")
    print(
        f"requests before repair per document: median {statistics.median(requests):g}, "
        f"p90 {percentile(requests, 0.9):g} (targets <= 2, <= 4); "
        f"files needing a classify request: {sum(r['classify_requests'] > 0 for r in rows)}"
    )
    print(
        f"prompt tokens per page: median {statistics.median(per_page):,.0f}, "
        f"p90 {percentile(per_page, 0.9):,.0f}, max {max(per_page):,.0f} (target median <= 1,500)"
    )
    for doc_type, sizes in sorted(prefixes.items()):
        print(f"stable prefix (system turn) of {doc_type}: {sorted(sizes)} tokens")


if __name__ == "__main__":
    main()
