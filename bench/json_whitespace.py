"""Completion tokens a record costs in each JSON layout, counted with the model's tokenizer.

The whole record is what the extraction request decodes (and, before fix_fields, every
repair decoded it again), at ~28 tokens/s on 2 cores. This counts the tokens of real
predicted records (``shipdoc eval run`` predictions) written three ways: pretty-printed
(``indent=2``, what an unconstrained reply looks like), one line with the usual ``", "``
and ``": "`` (what llama-cpp-python 0.3.36's schema grammar allows: its ``space`` rule is
``" "?``), and without any whitespace. Loads only the vocabulary (no weights, no decoding).

    PYTHONPATH=$PWD .venv/bin/python bench/json_whitespace.py \\
        var/eval/predictions/<key>/c2026-0104-inv.json ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agent.models.fetch import cached_path
from agent.models.llama_local import vocab
from core.records import FileRecords, record_to_values
from core.settings import get_settings

LAYOUTS = {
    "pretty (indent=2)": {"indent": 2},
    "one line, ', ' ': '": {},
    "compact ',' ':'": {"separators": (",", ":")},
}


def main(paths: list[str]) -> None:
    settings = get_settings()
    cfg = settings.model
    path = cfg.path or cached_path(cfg.name, cfg.cache_dir)
    model = vocab(path)
    totals = dict.fromkeys(LAYOUTS, 0)
    for path in paths:
        records = FileRecords.model_validate_json(Path(path).read_text(encoding="utf-8"))
        for record in records.documents:
            values = record_to_values(record).model_dump()
            counts = {}
            for name, kwargs in LAYOUTS.items():
                text = json.dumps(values, ensure_ascii=False, **kwargs)  # type: ignore[arg-type]
                counts[name] = len(model.tokenize(text.encode(), add_bos=False, special=False))
                totals[name] += counts[name]
            print(Path(path).stem, record.doc_type, counts)
    reference = totals["pretty (indent=2)"]
    for name, count in totals.items():
        print(f"{name:24s} {count:6d} tokens  {count / reference:.2f}x pretty")


if __name__ == "__main__":
    main(sys.argv[1:])
