"""The item-table reader (tools/tables.py) scored on the golden set without the model.

For every document of the chosen split: the share of ground-truth line-item fields the
reader gets right (exact or equivalent under the eval's scorer, rows matched one-to-one as
the scorer matches them), per document type and layout, and how often the checks
(tools/table_checks) pass; "passed" figures count only the documents whose checks all
passed (what the agent takes: OCR'd pages never pass), the rest fall back to the model.

    PYTHONPATH=$PWD nice -n 19 .venv/bin/python -m bench.tables --split dev
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from evals.goldenset import load_golden_truth
from evals.grouping import golden_pages
from evals.scoring.extraction import compare_tables
from tools.tables import read_table

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=("dev", "test"), default="dev")
    ap.add_argument("--work", default=str(ROOT / "var" / "tbl"))
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    names = set(json.loads((ROOT / "evals/golden/split.json").read_text())[args.split])
    # group -> [docs, passed, truth fields, right, right when passed, fields when passed, extra]
    stats: dict[str, list[int]] = defaultdict(lambda: [0] * 7)
    seconds = 0.0
    for truth in load_golden_truth():
        if truth.id not in names:
            continue
        pages = golden_pages(truth, Path(args.work))
        layout = truth.spec.layout + ("/scan" if truth.spec.scan else "")
        for doc in truth.documents:
            own = [p for p in pages if p.number in doc.pages]
            start = time.perf_counter()
            table = read_table(own, doc.doc_type)
            seconds += time.perf_counter() - start
            pred = [{k: _fv(v) for k, v in row.items()} for row in table.line_items()]
            results = compare_tables(doc.doc_type, "line_items", doc.line_items, pred)
            fields = sum(1 for r in results if r.truth is not None and r.truth != "")
            right = sum(1 for r in results if r.outcome in ("exact", "equivalent"))
            extra = sum(1 for r in results if r.outcome == "extra")
            if args.v:
                print(truth.id, doc.doc_type, layout, table.passed, right, fields, table.checks)
            for group in ("all", doc.doc_type, f"{doc.doc_type} {layout}"):
                s = stats[group]
                s[0] += 1
                s[1] += table.passed
                s[2] += fields
                s[3] += right
                s[4] += right if table.passed else 0
                s[5] += fields if table.passed else 0
                s[6] += extra if table.passed else 0
    print(f"{'group':40} docs  check  fields right  (passed: fields right extra)")
    for group in sorted(stats, key=lambda g: (g != "all", g)):
        d, p, f, r, rp, fp, ep = stats[group]
        print(
            f"{group:40} {d:4} {p:3}/{d:<3} {f:5} {r / max(1, f):6.1%}"
            f"   {fp:5} {rp / max(1, fp):6.1%} {ep:4}"
        )
    print(f"reader seconds total: {seconds:.2f}")


def _fv(value: object) -> object:
    from core.records import FieldValue

    return FieldValue(value=value)


if __name__ == "__main__":
    main()
