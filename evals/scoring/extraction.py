"""Extraction scoring: each field exact / equivalent / wrong / missing / extra.

Line items and containers are matched one-to-one (the assignment that agrees on the most
fields); documents inside a file are matched by page overlap, which also scores splitting
(page groups) and document-type accuracy.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

from core.records import DocType, Record, Row
from evals.scoring.assign import best_assignment
from evals.scoring.normalise import Kind, compare, field_kinds, is_blank

Outcome = Literal["exact", "equivalent", "wrong", "missing", "extra"]
OUTCOMES: tuple[Outcome, ...] = ("exact", "equivalent", "wrong", "missing", "extra")
_INDEX = re.compile(r"\[\d+\]")


class FieldResult(BaseModel):
    doc_type: DocType
    key: str  # as in the record: "shipper.name", "line_items[3].amount"
    outcome: Outcome
    truth: str | int | float | bool | None = None
    predicted: str | int | float | bool | None = None
    # The confidence the prediction gave the value (calibration), when it gave one.
    confidence: float | None = None
    # Where the predicted value sits: its key in the predicted record ("line_items[0].amount",
    # rows numbered as predicted) and the index of that record in the file's prediction.
    pred_key: str | None = None
    pred_doc: int | None = None

    @property
    def field(self) -> str:
        """The key with row numbers dropped: ``line_items[].amount``."""
        return _INDEX.sub("[]", self.key)


def _kind(doc_type: DocType, key: str) -> Kind:
    return field_kinds(doc_type).get(_INDEX.sub("[]", key), "text")


def compare_rows(
    doc_type: DocType, prefix: str, truth: Row, pred: Row, pred_prefix: str | None = None
) -> list[FieldResult]:
    """Compare two flat dicts of fields (a record's fields, or one matched row);
    ``pred_prefix``: the predicted row's own prefix (default ``prefix``)."""
    results = []
    for key in sorted(set(truth) | set(pred)):
        t = truth[key].value if key in truth else None
        p = pred[key].value if key in pred else None
        full = f"{prefix}{key}"
        if is_blank(t) and is_blank(p):
            continue
        if is_blank(p):
            outcome: Outcome = "missing"
        elif is_blank(t):
            outcome = "extra"
        else:
            outcome = compare(_kind(doc_type, full), t, p)
        conf = pred[key].confidence if key in pred else None
        pred_key = f"{prefix if pred_prefix is None else pred_prefix}{key}" if key in pred else None
        results.append(
            FieldResult(
                doc_type=doc_type,
                key=full,
                outcome=outcome,
                truth=t,
                predicted=p,
                confidence=conf,
                pred_key=pred_key,
            )
        )
    return results


def _row_agreement(doc_type: DocType, prefix: str, truth: Row, pred: Row) -> float:
    results = compare_rows(doc_type, prefix, truth, pred)
    good = sum(1 for r in results if r.outcome in ("exact", "equivalent"))
    return good / max(1, len(truth))


def compare_tables(
    doc_type: DocType, name: str, truth: list[Row], pred: list[Row]
) -> list[FieldResult]:
    """Match rows one-to-one, then compare matched rows; unmatched rows are missing / extra."""
    scores = [[_row_agreement(doc_type, f"{name}[].", t, p) for p in pred] for t in truth]
    pairs = best_assignment(scores)
    results: list[FieldResult] = []
    matched_t = {i for i, _ in pairs}
    matched_p = {j for _, j in pairs}
    for i, j in pairs:
        results += compare_rows(doc_type, f"{name}[{i}].", truth[i], pred[j], f"{name}[{j}].")
    for i, row in enumerate(truth):
        if i not in matched_t:
            results += compare_rows(doc_type, f"{name}[{i}].", row, {})
    for j, row in enumerate(pred):
        if j not in matched_p:
            results += compare_rows(doc_type, f"{name}[+{j}].", {}, row, f"{name}[{j}].")
    return results


def compare_records(truth: Record, pred: Record | None) -> list[FieldResult]:
    """Every field of a ground-truth record against a prediction (None: nothing predicted).

    A prediction of another document type scores every true field as missing and every
    predicted field as extra.
    """
    doc_type = truth.doc_type
    empty = Record(doc_type=doc_type)
    if pred is not None and pred.doc_type != doc_type:
        wrong_type = compare_records(empty, Record(**pred.model_dump() | {"doc_type": doc_type}))
        return compare_records(truth, None) + wrong_type
    p = pred or empty
    results = compare_rows(doc_type, "", truth.fields, p.fields)
    results += compare_tables(doc_type, "line_items", truth.line_items, p.line_items)
    results += compare_tables(doc_type, "containers", truth.containers, p.containers)
    return results


class Counts(BaseModel):
    exact: int = 0
    equivalent: int = 0
    wrong: int = 0
    missing: int = 0
    extra: int = 0

    @classmethod
    def of(cls, results: list[FieldResult]) -> Counts:
        c = Counter(r.outcome for r in results)
        return cls(**{o: c.get(o, 0) for o in OUTCOMES})

    @property
    def correct(self) -> int:
        return self.exact + self.equivalent

    @property
    def precision(self) -> float:
        denom = self.correct + self.wrong + self.extra
        return self.correct / denom if denom else 1.0

    @property
    def recall(self) -> float:
        denom = self.correct + self.wrong + self.missing
        return self.correct / denom if denom else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def accuracy(self) -> float:
        """Correct over every field that either side has."""
        total = self.correct + self.wrong + self.missing + self.extra
        return self.correct / total if total else 1.0


class Scores(BaseModel):
    counts: Counts
    precision: float
    recall: float
    f1: float
    accuracy: float

    @classmethod
    def of(cls, counts: Counts) -> Scores:
        return cls(
            counts=counts,
            precision=round(counts.precision, 4),
            recall=round(counts.recall, 4),
            f1=round(counts.f1, 4),
            accuracy=round(counts.accuracy, 4),
        )


class SplitScores(BaseModel):
    documents: int = Field(description="ground-truth documents")
    predicted_documents: int
    page_groups_exact: int = Field(description="true documents whose pages a prediction matches")
    doc_type_correct: int = Field(description="true documents matched with the right type")
    files_without_prediction: int = 0

    @property
    def page_group_accuracy(self) -> float:
        return self.page_groups_exact / self.documents if self.documents else 1.0

    @property
    def doc_type_accuracy(self) -> float:
        return self.doc_type_correct / self.documents if self.documents else 1.0
