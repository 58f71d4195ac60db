"""Page groups and document types without a model: ``agent.classify`` against the golden set.

Every golden file is rebuilt, parsed (text layer or Tesseract, as the product does) and
handed to ``agent.classify.classify`` with no model, so the splitting rules and the keyword
types are scored alone in seconds (OCR of the scans aside). A true document counts as split
right when a predicted group holds exactly its pages, and as typed right when that group
also has its type. A group the keywords leave undecided (``unsupported``: no model to ask)
counts as a wrong type. Parsed pages are cached under ``work/pages`` per parser version.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, Field, TypeAdapter

from agent.classify import classify
from evals.corpus import GroundTruth, build_item
from tools.parse import parse_bytes
from tools.provenance import PageText

ROOT = Path(__file__).resolve().parents[1]
_PAGES = TypeAdapter(list[PageText])


class FileGroups(BaseModel):
    file: str
    truth: list[tuple[str, list[int]]]
    predicted: list[tuple[str, list[int]]]

    @property
    def groups_right(self) -> int:
        pred = {tuple(pages) for _, pages in self.predicted}
        return sum(tuple(pages) in pred for _, pages in self.truth)

    @property
    def types_right(self) -> int:
        pred = {(t, tuple(pages)) for t, pages in self.predicted}
        return sum((t, tuple(pages)) in pred for t, pages in self.truth)


class GroupingReport(BaseModel):
    files: int
    documents: int
    page_groups_exact: int
    doc_type_correct: int
    wrong: list[FileGroups] = Field(default_factory=list)

    @property
    def page_group_accuracy(self) -> float:
        return self.page_groups_exact / self.documents if self.documents else 1.0

    @property
    def doc_type_accuracy(self) -> float:
        return self.doc_type_correct / self.documents if self.documents else 1.0


def parser_version() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "tools" / "parse").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def golden_pages(truth: GroundTruth, work_dir: Path) -> list[PageText]:
    """The file's pages as the pipeline reads them (pages without text left out)."""
    cache = work_dir / "pages" / parser_version() / f"{truth.id}.json"
    if cache.exists():
        return _PAGES.validate_json(cache.read_bytes())
    data, _ = build_item(truth.spec)
    parsed = parse_bytes(data)
    pages = [
        PageText(
            number=p.number,
            text=p.text,
            method=p.method,
            confidence=p.confidence,
            words=[w.as_dict() for w in p.words],
        )
        for p in parsed.pages
        if p.text.strip()
    ]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(_PAGES.dump_json(pages))
    return pages


def score_grouping(truths: list[GroundTruth], work_dir: Path) -> GroupingReport:
    per_file = []
    for truth in truths:
        groups = classify(golden_pages(truth, work_dir), None)
        per_file.append(
            FileGroups(
                file=truth.id,
                truth=[(d.doc_type, list(d.pages)) for d in truth.documents],
                predicted=[
                    ("unsupported" if g.unsupported else g.doc_type, [p.number for p in g.pages])
                    for g in groups
                ],
            )
        )
    documents = sum(len(f.truth) for f in per_file)
    groups_right = sum(f.groups_right for f in per_file)
    types_right = sum(f.types_right for f in per_file)
    return GroupingReport(
        files=len(per_file),
        documents=documents,
        page_groups_exact=groups_right,
        doc_type_correct=types_right,
        wrong=[
            f for f in per_file if f.types_right < len(f.truth) or len(f.predicted) != len(f.truth)
        ],
    )
