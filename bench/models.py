"""Local model speed: load time, prompt processing and generation rates, in process.

    .venv/bin/python bench/models.py [--models qwen2.5-0.5b,qwen2.5-1.5b] [--threads 2]

Figures for each model, and each model's generation rate as a ratio to SmolLM2-135M
measured in the same run (the reference), so that figures from a busy machine can still be
compared. The models are fetched first when not cached (see docs/models.md).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from agent.models.fetch import fetch
from core.settings import Settings

REFERENCE = "smollm2"
# ~1,000 tokens of invoice-like text: what a one-page document costs to read.
PROMPT = "\n".join(
    f"{i:>3} | CTN-{1000 + i} | Frozen shrimp 20x1kg | HS 0306.17 | qty {i * 3} | "
    f"unit EUR {4.5 + i / 10:.2f} | amount EUR {i * 3 * (4.5 + i / 10):.2f}"
    for i in range(1, 36)
)
GENERATE = "Count from 1 to 300, separated by commas: 1, 2, 3,"


def _measure(path: Path, threads: int, new_tokens: int) -> dict[str, float]:
    from agent.models.llama_local import llama_cpp_module

    Llama = llama_cpp_module().Llama
    started = time.monotonic()
    llama: Any = Llama(
        model_path=str(path),
        n_ctx=4096,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    load_s = time.monotonic() - started

    llama.reset()
    started = time.monotonic()
    out = llama.create_completion(PROMPT, max_tokens=1, temperature=0.0)
    prefill_s = time.monotonic() - started
    prompt_tokens = out["usage"]["prompt_tokens"]

    llama.reset()
    started = time.monotonic()
    llama.create_completion(GENERATE, max_tokens=1, temperature=0.0)
    short_prefill_s = time.monotonic() - started
    llama.reset()
    started = time.monotonic()
    out = llama.create_completion(GENERATE, max_tokens=new_tokens, temperature=0.0)
    decode_s = time.monotonic() - started - short_prefill_s
    generated = out["usage"]["completion_tokens"]
    del llama
    return {
        "load_s": load_s,
        "prompt_tokens": prompt_tokens,
        "prefill_tok_s": prompt_tokens / prefill_s,
        "generated": generated,
        "decode_tok_s": max(generated - 1, 1) / max(decode_s, 1e-6),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="qwen2.5-0.5b,qwen2.5-1.5b")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--new-tokens", type=int, default=96)
    args = parser.parse_args()
    cache = Settings().model.cache_dir
    load_avg = os.getloadavg()[0]
    print(f"threads={args.threads} cores={os.cpu_count()} load average (1 min) {load_avg:.1f}")
    keys = [REFERENCE, *[k for k in args.models.split(",") if k and k != REFERENCE]]
    results = {k: _measure(fetch(k, cache), args.threads, args.new_tokens) for k in keys}
    ref = results[REFERENCE]["decode_tok_s"]
    print(
        f"{'model':<14}{'load s':>8}{'prompt tok':>11}{'prefill tok/s':>15}"
        f"{'decode tok/s':>14}{'decode vs ' + REFERENCE:>20}"
    )
    for key, r in results.items():
        print(
            f"{key:<14}{r['load_s']:>8.2f}{r['prompt_tokens']:>11.0f}{r['prefill_tok_s']:>15.1f}"
            f"{r['decode_tok_s']:>14.1f}{r['decode_tok_s'] / ref:>20.2f}"
        )


if __name__ == "__main__":
    main()
