"""The tariff-ranking experiments: each variant measured on dev, the chosen one on test.

    SHIPDOC_KB__EMBED_THREADS=1 .venv/bin/python bench/kb_experiments.py [--report FILE]

Needs the built HS + CN collections (`shipdoc kb ingest`). Every case of the golden set is
embedded once per query preparation (raw, cleaned, glossary, both); the fusion variants
are then pure numpy over the cached evidence, so the whole table takes a minute or two.
Selection reads dev only; test is printed for the baseline and the selected variant.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from core.settings import get_settings  # noqa: E402
from evals.retrieval import DEFAULT_GOLDEN, RetrievalCase, load_golden  # noqa: E402
from kb.lookup import (  # noqa: E402
    CONFIDENT_MARGIN,
    DEFAULT,
    Evidence,
    Space,
    Weights,
    evidence,
    prepare,
    space,
)
from kb.search import get_kb  # noqa: E402

Ranker = Callable[[Evidence], list[str]]
_COLS = ("hs6_r1", "hs6_r10", "hs4_r1", "hs4_r10")


def recall(cases: list[RetrievalCase], ranked: list[list[str]], level: int, k: int) -> float:
    hits = sum(
        1 for c, r in zip(cases, ranked, strict=True) if c.hs6[:level] in {x[:level] for x in r[:k]}
    )
    return hits / max(1, len(cases))


def fused_ranker(sp: Space, w: Weights, beam: int = 0) -> Ranker:
    def run(ev: Evidence) -> list[str]:
        fused = ev.fused(w)
        if beam:
            heads = np.full(len(sp.headings), -np.inf, dtype=np.float32)
            np.maximum.at(heads, sp.heading_of, fused)
            keep = np.argsort(-heads)[:beam]
            inside = np.isin(sp.heading_of, keep)
            fused = np.where(inside, fused + 100.0, fused)
        order = np.argsort(-fused)[:10]
        return [sp.codes[i] for i in order]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--golden", type=Path, default=DEFAULT_GOLDEN)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    settings = get_settings()
    kb = get_kb(settings)
    sp = space(settings)
    cases = load_golden(args.golden)
    dev = [i for i, c in enumerate(cases) if c.split == "dev"]
    test = [i for i, c in enumerate(cases) if c.split == "test"]
    preps = {
        "raw": (False, False),
        "glossary": (True, False),
        "clean": (False, True),
        "clean+glossary": (True, True),
    }
    cache: dict[str, list[Evidence]] = {}
    for name, (rw, cl) in preps.items():
        texts = [prepare(c.text, rewrite=rw, clean=cl) for c in cases]
        vectors = kb.embedder.embed_queries(texts)
        cache[name] = [
            evidence(c.text, settings, rewrite=rw, clean=cl, vector=vectors[i])
            for i, c in enumerate(cases)
        ]
        print(f"evidence for {name}: {len(cases)} cases", file=sys.stderr)

    rows: list[dict[str, object]] = []

    def measure(label: str, prep: str, ranker: Ranker, part: list[int]) -> dict[str, object]:
        ranked = [ranker(cache[prep][i]) for i in part]
        chosen = [cases[i] for i in part]
        row = {
            "variant": label,
            "prep": prep,
            "cases": len(part),
            **{
                f"hs{lv}_r{k}": round(recall(chosen, ranked, lv, k), 3)
                for lv in (6, 4)
                for k in (1, 10)
            },
        }
        return row

    base = Weights(cn=1.0, cn_lex=0.05, hs_lex=0.0, head=0.0)  # the previous tool's fusion
    variants: list[tuple[str, str, Weights, int]] = [
        ("HS6 dense only", "raw", Weights(cn=0.0, cn_lex=0.0), 0),
        ("previous fusion, raw", "raw", base, 0),
        ("previous fusion + glossary (before)", "glossary", base, 0),
        ("previous fusion + cleaning", "clean", base, 0),
        ("previous fusion + cleaning + glossary", "clean+glossary", base, 0),
    ]
    prep = "clean+glossary"
    for cn_lex in (0.0, 0.05, 0.1, 0.2, 0.3):
        variants.append((f"cn_lex={cn_lex}", prep, replace(base, cn_lex=cn_lex), 0))
    for hs_lex in (0.05, 0.1, 0.2):
        variants.append((f"hs_lex={hs_lex}", prep, replace(base, hs_lex=hs_lex), 0))
    for head in (0.1, 0.25, 0.5):
        variants.append((f"head={head}", prep, replace(base, head=head), 0))
    for cn in (0.5, 0.75, 1.5):
        variants.append((f"cn={cn}", prep, replace(base, cn=cn), 0))
    for beam in (3, 5, 10):
        variants.append((f"beam over headings, B={beam}", prep, base, beam))
    for label, p, w, beam in variants:
        rows.append(measure(label, p, fused_ranker(sp, w, beam), dev))
        print(json.dumps(rows[-1]), file=sys.stderr)

    # greedy combination on dev: each single change that helped, kept if it still helps
    def score(row: dict[str, object]) -> tuple[float, float]:
        return (float(row["hs6_r10"]) + float(row["hs4_r10"]), float(row["hs6_r1"]))  # type: ignore[arg-type]

    best_w, best_beam = base, 0
    best = measure("combined", prep, fused_ranker(sp, best_w, 0), dev)
    for field, values in (
        ("cn", (0.5, 0.75, 1.0, 1.5)),
        ("cn_lex", (0.0, 0.05, 0.1, 0.2, 0.3)),
        ("hs_lex", (0.0, 0.05, 0.1, 0.2)),
        ("head", (0.0, 0.1, 0.25, 0.5)),
    ):
        for value in values:
            w = replace(best_w, **{field: value})
            row = measure("combined", prep, fused_ranker(sp, w, best_beam), dev)
            if score(row) > score(best):
                best, best_w = row, w
    for beam in (0, 3, 5, 10):
        row = measure("combined", prep, fused_ranker(sp, best_w, beam), dev)
        if score(row) > score(best):
            best, best_beam = row, beam
    best["variant"] = f"selected on dev: {asdict(best_w)}, beam {best_beam}"
    rows.append(best)

    print("\n| variant | prep | HS6 R@1 | HS6 R@10 | HS4 R@1 | HS4 R@10 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(r[k]) for k in ("variant", "prep", *_COLS)) + " |")
    print(f"\n(dev: {len(dev)} cases)\n\ntest ({len(test)} cases), reported once:")
    finals = [
        ("previous fusion + glossary (before)", "glossary", fused_ranker(sp, base, 0)),
        ("shipped default (kb.lookup.DEFAULT)", prep, fused_ranker(sp, DEFAULT, 0)),
        ("selected on dev", prep, fused_ranker(sp, best_w, best_beam)),
    ]
    test_rows = [measure(label, p, r, test) for label, p, r in finals]
    for r in test_rows:
        print("| " + " | ".join(str(r[k]) for k in ("variant", "prep", *_COLS)) + " |")
    # the agent's "unsure": confident only when top-1 leads top-2 by a margin (dev chooses)
    chosen_w = best_w

    def margins(part: list[int]) -> list[tuple[float, bool]]:
        out = []
        for i in part:
            fused = cache[prep][i].fused(chosen_w)
            top = np.sort(fused)[-2:][::-1]
            best_code = sp.codes[int(np.argmax(fused))]
            out.append((float(top[0] - top[1]), best_code == cases[i].hs6))
        return out

    print("\nunsure threshold (dev): margin -> share confident, HS6 top-1 right among them")
    dev_m = margins(dev)
    for m in (0.0, 0.01, 0.02, 0.03, 0.05, 0.08):
        conf = [ok for g, ok in dev_m if g >= m]
        share, right = len(conf) / len(dev_m), sum(conf) / max(1, len(conf))
        print(f"  {m:.2f}: {share:.2f} confident, {right:.2f} right")
    test_m = margins(test)
    conf = [ok for g, ok in test_m if g >= CONFIDENT_MARGIN]
    unsure = [ok for g, ok in test_m if g < CONFIDENT_MARGIN]
    print(
        f"test at the shipped margin {CONFIDENT_MARGIN}: {len(conf) / len(test_m):.2f} confident, "
        f"{sum(conf) / max(1, len(conf)):.2f} of those right; the unsure ones right at top-1: "
        f"{sum(unsure) / max(1, len(unsure)):.2f}"
    )
    if args.report:
        args.report.write_text(json.dumps({"dev": rows, "test": test_rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
