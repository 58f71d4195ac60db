"""Scoring a folder of predictions against a folder of ground truth, and the report."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from statistics import mean

from pydantic import BaseModel, ValidationError

from core.errors import InputError
from core.records import FileRecords, Record
from evals.scoring.assign import best_assignment
from evals.scoring.extraction import (
    Counts,
    FieldResult,
    Scores,
    SplitScores,
    compare_records,
)


class GroupScores(BaseModel):
    micro: Scores
    macro_accuracy: float  # mean over fields of each field's accuracy


class SplitReport(BaseModel):
    counts: SplitScores
    page_group_accuracy: float
    doc_type_accuracy: float


class FileSummary(BaseModel):
    file: str
    documents: int
    predicted: bool
    accuracy: float


class ExtractionReport(BaseModel):
    files: int
    documents: int
    overall: GroupScores
    macro_accuracy_over_doc_types: float
    by_doc_type: dict[str, GroupScores]
    by_field: dict[str, dict[str, Scores]]
    splitting: SplitReport
    per_file: list[FileSummary]


def load_ground_truth(golden_dir: Path) -> list[FileRecords]:
    """Every ``*.json`` in ``golden_dir`` that holds a file's records (names starting with
    ``_`` are metadata and skipped)."""
    if not golden_dir.is_dir():
        raise InputError(f"golden folder {golden_dir} does not exist", code="golden_missing")
    truths = []
    for path in sorted(golden_dir.glob("*.json")):
        if path.name.startswith("_"):
            continue
        try:
            truths.append(FileRecords.model_validate_json(path.read_bytes()))
        except ValidationError as exc:
            raise InputError(f"{path.name} is not ground truth: {exc}", code="bad_golden") from exc
    if not truths:
        raise InputError(f"no ground-truth JSON in {golden_dir}", code="golden_missing")
    return truths


def _as_record(item: object) -> Record:
    """A record, or a line of ``shipdoc extract --json`` (``{"record": ..., "pages": ...}``)."""
    if isinstance(item, dict) and isinstance(item.get("record"), dict):
        record = Record.model_validate(item["record"])
        if not record.pages and isinstance(item.get("pages"), list):
            record.pages = [int(p) for p in item["pages"]]
        return record
    return Record.model_validate(item)


def load_prediction(path: Path, file: str) -> FileRecords | None:
    """A prediction file: ``FileRecords``, one ``Record``, a JSON list of records, or the
    JSON lines ``shipdoc extract --json`` prints (one per document)."""
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    try:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        if isinstance(data, list):
            return FileRecords(file=file, documents=[_as_record(d) for d in data])
        if isinstance(data, dict) and "documents" in data:
            return FileRecords.model_validate(data)
        return FileRecords(file=file, documents=[_as_record(data)])
    except (ValueError, ValidationError) as exc:
        raise InputError(f"{path.name} is not a prediction: {exc}", code="bad_prediction") from exc


def _pages(record: Record, all_pages: set[int], alone: bool) -> set[int]:
    if record.pages:
        return set(record.pages)
    return all_pages if alone else set()


def score_file(
    truth: FileRecords, pred: FileRecords | None
) -> tuple[list[FieldResult], SplitScores]:
    truth_docs = truth.documents
    pred_docs = pred.documents if pred is not None else []
    all_pages = {p for d in truth_docs for p in d.pages}
    t_pages = [set(d.pages) for d in truth_docs]
    p_pages = [_pages(d, all_pages, len(pred_docs) == 1) for d in pred_docs]
    overlap = [
        [
            len(t & p) / len(t | p) + (0.001 if td.doc_type == pd.doc_type else 0.0)
            if t & p
            else 0.0
            for p, pd in zip(p_pages, pred_docs, strict=True)
        ]
        for t, td in zip(t_pages, truth_docs, strict=True)
    ]
    pairs = dict(best_assignment(overlap))
    results: list[FieldResult] = []
    groups = types = 0
    for i, doc in enumerate(truth_docs):
        j = pairs.get(i)
        if j is None:
            results += compare_records(doc, None)
            continue
        groups += t_pages[i] == p_pages[j]
        types += doc.doc_type == pred_docs[j].doc_type
        results += _of_doc(compare_records(doc, pred_docs[j]), j)
    for j, extra_doc in enumerate(pred_docs):
        if j not in pairs.values():
            results += _of_doc(compare_records(Record(doc_type=extra_doc.doc_type), extra_doc), j)
    split = SplitScores(
        documents=len(truth_docs),
        predicted_documents=len(pred_docs),
        page_groups_exact=groups,
        doc_type_correct=types,
        files_without_prediction=int(pred is None),
    )
    return results, split


def _of_doc(results: list[FieldResult], j: int) -> list[FieldResult]:
    for r in results:
        if r.pred_key is not None:
            r.pred_doc = j
    return results


def _group(results: list[FieldResult]) -> GroupScores:
    by_field: dict[str, list[FieldResult]] = defaultdict(list)
    for r in results:
        by_field[r.field].append(r)
    macro = mean(Counts.of(rs).accuracy for rs in by_field.values()) if by_field else 1.0
    return GroupScores(micro=Scores.of(Counts.of(results)), macro_accuracy=round(macro, 4))


def build_report(
    scored: list[tuple[FileRecords, bool, list[FieldResult], SplitScores]],
) -> ExtractionReport:
    results = [r for _, _, rs, _ in scored for r in rs]
    by_type: dict[str, list[FieldResult]] = defaultdict(list)
    for r in results:
        by_type[r.doc_type].append(r)
    by_field: dict[str, dict[str, Scores]] = {}
    for doc_type, rs in sorted(by_type.items()):
        fields: dict[str, list[FieldResult]] = defaultdict(list)
        for r in rs:
            fields[r.field].append(r)
        by_field[doc_type] = {k: Scores.of(Counts.of(v)) for k, v in sorted(fields.items())}
    split = SplitScores(
        documents=sum(s.documents for *_, s in scored),
        predicted_documents=sum(s.predicted_documents for *_, s in scored),
        page_groups_exact=sum(s.page_groups_exact for *_, s in scored),
        doc_type_correct=sum(s.doc_type_correct for *_, s in scored),
        files_without_prediction=sum(s.files_without_prediction for *_, s in scored),
    )
    groups = {k: _group(v) for k, v in sorted(by_type.items())}
    return ExtractionReport(
        files=len(scored),
        documents=split.documents,
        overall=_group(results),
        macro_accuracy_over_doc_types=round(
            mean(g.micro.accuracy for g in groups.values()) if groups else 1.0, 4
        ),
        by_doc_type=groups,
        by_field=by_field,
        splitting=SplitReport(
            counts=split,
            page_group_accuracy=round(split.page_group_accuracy, 4),
            doc_type_accuracy=round(split.doc_type_accuracy, 4),
        ),
        per_file=[
            FileSummary(
                file=t.file,
                documents=len(t.documents),
                predicted=predicted,
                accuracy=round(Counts.of(rs).accuracy, 4),
            )
            for t, predicted, rs, _ in scored
        ],
    )


def score_folders(golden_dir: Path, predictions_dir: Path) -> ExtractionReport:
    """Score ``predictions_dir/<name>.json`` against each ``golden_dir/<name>.json``."""
    if not predictions_dir.is_dir():
        raise InputError(
            f"predictions folder {predictions_dir} does not exist", code="no_predictions"
        )
    scored = []
    for truth in load_ground_truth(golden_dir):
        stem = Path(truth.file).stem
        pred = load_prediction(predictions_dir / f"{stem}.json", truth.file)
        results, split = score_file(truth, pred)
        scored.append((truth, pred is not None, results, split))
    return build_report(scored)
