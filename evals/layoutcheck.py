"""Does the text the model reads keep the page's layout? A proxy measured without a model.

For every golden file of a part the parser's plain text (``page.text``, the model's input
before issue #12) and the layout text (``tools.layout.layout_text``) are compared on what
the generator knows was printed (``evals.corpus.item_views``):

* **rows**: the share of line-item rows whose printed cells all stand on one line of the
  text (the description by its first word: a wrapped description is not held against it);
* **labels**: the share of printed labels (header, totals and footer boxes; party block
  titles with the party's name) that stand on one line with their value;
* **size**: characters and tokens of the page texts (the model's tokenizer when a GGUF
  file is given, else characters / 4).

    .venv/bin/python -m evals.layoutcheck --split dev [--gguf ~/.cache/shipdoc/models/x.gguf]

Both texts are compared without case, whitespace or ligatures (``parsecheck.squash``); OCR
misreadings count against both alike.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from agent.models.llama_local import vocab
from evals.corpus import GroundTruth, build_item, item_views
from evals.goldenset import load_golden_truth
from evals.parsecheck import squash
from evals.render.view import DocView
from tools.layout import layout_text
from tools.parse import parse_bytes

SPLIT = Path(__file__).resolve().parent / "golden" / "split.json"


def _on_one_line(lines: list[str], parts: list[str]) -> bool:
    wanted = [squash(p) for p in parts if squash(p)]
    return any(all(w in line for w in wanted) for line in lines)


def _row_parts(row: list[str]) -> list[str]:
    longest = max(row, key=len)
    return [c.split()[0] if c is longest else c for c in row if c.strip()]


def row_checks(view: DocView, lines: list[str]) -> list[bool]:
    return [_on_one_line(lines, _row_parts([c.text for c in row])) for row in view.rows]


def label_checks(view: DocView, lines: list[str]) -> list[bool]:
    pairs = [(k, c.text) for k, c in view.header + view.totals + view.footer if k and c.text]
    pairs += [(b.title, b.lines[0].text) for b in view.parties if b.lines and b.lines[0].text]
    return [_on_one_line(lines, [k, v]) for k, v in pairs]


class Tally:
    def __init__(self) -> None:
        self.rows = [0, 0]
        self.labels = [0, 0]
        self.pages = 0
        self.chars = 0
        self.tokens = 0

    def add(self, checks: list[bool], into: list[int]) -> None:
        into[0] += sum(checks)
        into[1] += len(checks)

    def line(self, name: str) -> str:
        def share(a: list[int]) -> str:
            return f"{a[0]}/{a[1]} ({100 * a[0] / a[1]:.1f} %)" if a[1] else "-"

        per_page = (self.tokens / self.pages) if self.pages else 0
        return (
            f"{name:<24} rows {share(self.rows):<20} labels {share(self.labels):<20} "
            f"chars {self.chars:>7}  tokens {self.tokens:>6}  tokens/page {per_page:.0f}"
        )


def _counter(gguf: Path | None) -> Callable[[str], int]:
    if gguf is None:
        return lambda text: len(text) // 4
    tokenizer = vocab(gguf)
    return lambda text: len(tokenizer.tokenize(text.encode("utf-8"), add_bos=False))


def check(truths: list[GroundTruth], count: Callable[[str], int]) -> dict[str, Tally]:
    """Tallies per (kind of text, stratum): ``before``/``after`` x all, layout, text/scan."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for truth in truths:
        data, _ = build_item(truth.spec)
        pages = parse_bytes(data).pages
        texts = {
            "before": [p.text for p in pages],
            "after": [layout_text([w.as_dict() for w in p.words]) for p in pages],
        }
        views = [view for _, _, view, _ in item_views(truth.spec)]
        kind = "scan" if truth.spec.scan else "text"
        for name, page_texts in texts.items():
            lines = [squash(ln) for t in page_texts for ln in t.splitlines()]
            for key in ("all", truth.spec.layout, kind):
                tally = tallies[f"{name} {key}"]
                for view in views:
                    tally.add(row_checks(view, lines), tally.rows)
                    tally.add(label_checks(view, lines), tally.labels)
                tally.pages += len(page_texts)
                tally.chars += sum(len(t) for t in page_texts)
                tally.tokens += sum(count(t) for t in page_texts)
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    parser.add_argument("--gguf", type=Path, default=None, help="count tokens with this model")
    args = parser.parse_args()
    ids = set(json.loads(SPLIT.read_text())[args.split])
    truths = [t for t in load_golden_truth() if t.id in ids]
    tallies = check(truths, _counter(args.gguf))
    for key in ("all", "letterhead", "boxed", "plain", "text", "scan"):
        for name in ("before", "after"):
            print(tallies[f"{name} {key}"].line(f"{name} {key}"))  # noqa: T201


if __name__ == "__main__":
    main()
