"""Fit the confidence table (tools/calibration.json) on the dev part's cached predictions.

For every predicted field of every dev file with a cached prediction (``shipdoc eval run``):

* its evidence (tools/confidence.Evidence): as recorded in the prediction's provenance, or,
  for predictions made before evidence was recorded, recomputed from the predicted values
  and the file's pages with the product's own functions (tools/provenance.locate, the
  candidates and agent/crosscheck.final_verdicts, tools/validate). Such old predictions do
  not say whether the rules *filled* or *replaced* a value that now equals the candidate;
  it is read back from the confidence the old rule gave those two (0.85, 0.75);
* whether it is right: exact or equivalent under the scorer (an extra field is wrong).

Each evidence class gets its dev accuracy and, as its confidence, the lower end of the
Wilson interval (z = 1). ``cross_validate`` scores the same procedure file by file (fit on
the other dev files, applied to the held-out one), which is the honest dev estimate of the
bands; the test part is never read here.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.crosscheck import CHECKED, final_verdicts, same_value
from core.records import DocType, Record, record_to_values
from evals.corpus import GroundTruth
from evals.grouping import golden_pages
from evals.run import BANDS, cached
from evals.scoring.extraction import FieldResult, compare_records
from evals.scoring.normalise import field_kinds
from evals.scoring.report import score_file
from tools.candidates import best, find_candidates
from tools.confidence import (
    Evidence,
    evidence_class,
    field_evidence,
    uncertain_required,
)
from tools.provenance import PageText, locate
from tools.validate import Issue, validate

Z = 1.0
# The fitted table: a measurement kept beside the golden set, not read by the product yet.
CALIBRATION_FILE = Path(__file__).resolve().parent / "golden" / "calibration-dev.json"
# The table's status threshold, and the confidence of a class the dev part never showed.
THRESHOLD = 0.9
UNSEEN = 0.5
# What the rules before the table gave a value the candidate filled or replaced.
OLD_FILLED, OLD_REPLACED = 0.85, 0.75
RIGHT = ("exact", "equivalent")
_INDEX = re.compile(r"\[\d+\]")


class FieldRow(BaseModel):
    file: str
    doc: int
    doc_type: DocType
    key: str
    cls: str
    evidence: dict[str, Any]
    right: bool
    recorded: bool  # the evidence came with the prediction (else recomputed)
    shown: float | None  # the confidence the prediction gave it


class DocRow(BaseModel):
    """What the status rule needs of a predicted document, and how right it was."""

    file: str
    doc: int
    doc_type: DocType
    values: dict[str, Any]
    invalid: bool  # a validation error (recomputed: without the tariff's known-code check)
    fields_right: int
    fields_total: int  # of the matched true document: missing fields count, extras too


class ClassRow(BaseModel):
    fields: int
    right: int
    accuracy: float
    confidence: float


def wilson_low(right: int, n: int, z: float = Z) -> float:
    if n == 0:
        return 0.0
    p = right / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def _group_pages(record: Record, pages: list[PageText]) -> list[PageText]:
    wanted = set(record.pages)
    return [p for p in pages if p.number in wanted] if wanted else pages


def _recompute(record: Record, pages: list[PageText]) -> tuple[dict[str, Evidence], list[Issue]]:
    values = record_to_values(record).model_dump(mode="json", exclude_none=True)
    _, sources = locate(values, pages)
    candidates = find_candidates(pages)
    first: dict[str, str] = {}
    for name in CHECKED[record.doc_type]:
        cand, field = best(candidates, name), record.fields.get(name)
        if cand is None or field is None or not same_value(name, field.value, cand.value):
            continue
        conf = field.confidence
        first[name] = (
            "filled" if conf == OLD_FILLED else "replaced" if conf == OLD_REPLACED else "agrees"
        )
    verdicts = final_verdicts(record.doc_type, values, candidates, first)
    issues = validate(record.doc_type, values).issues
    return field_evidence(sources, verdicts, issues), issues


def _recorded(record: Record) -> dict[str, Evidence] | None:
    out = {}
    rows = [("", record.fields)] + [
        (f"{name}[{i}].", row)
        for name in ("line_items", "containers")
        for i, row in enumerate(getattr(record, name))
    ]
    for prefix, row in rows:
        for key, value in row.items():
            if value.provenance is None or value.provenance.evidence is None:
                return None
            out[prefix + key] = Evidence.from_json(value.provenance.evidence)
    return out


def collect(
    truths: list[GroundTruth], cache_dirs: list[Path], work_dir: Path
) -> tuple[list[FieldRow], list[DocRow]]:
    """Every predicted field of the files predicted in any of ``cache_dirs`` (the first
    holding a file wins), with its evidence and whether it is right."""
    fields: list[FieldRow] = []
    docs: list[DocRow] = []
    for truth in truths:
        pred = next((p for d in cache_dirs if (p := cached(d, truth)[0]) is not None), None)
        if pred is None:
            continue
        results, _ = score_file(truth, pred)
        right = {(r.pred_doc, r.pred_key): r.outcome in RIGHT for r in results if r.pred_key}
        shown = {(r.pred_doc, r.pred_key): r.confidence for r in results if r.pred_key}
        pages = golden_pages(truth, work_dir)
        for j, record in enumerate(pred.documents):
            evidence = _recorded(record)
            recomputed, issues = _recompute(record, _group_pages(record, pages))
            recorded = evidence is not None
            evidence = evidence or recomputed
            for key, ev in evidence.items():
                fields.append(
                    FieldRow(
                        file=truth.id,
                        doc=j,
                        doc_type=record.doc_type,
                        key=key,
                        cls=evidence_class(ev),
                        evidence=ev.as_json(),
                        right=right.get((j, key), False),
                        recorded=recorded,
                        shown=shown.get((j, key)),
                    )
                )
            docs.append(_doc_row(truth, j, record, issues))
    return fields, docs


def _doc_row(truth: GroundTruth, j: int, record: Record, issues: list[Issue]) -> DocRow:
    match = next((d for d in truth.documents if set(d.pages) == set(record.pages)), None)
    results: list[FieldResult] = compare_records(match, record) if match else []
    return DocRow(
        file=truth.id,
        doc=j,
        doc_type=record.doc_type,
        values=record_to_values(record).model_dump(mode="json", exclude_none=True),
        invalid=any(i.severity == "error" for i in issues),
        fields_right=sum(r.outcome in RIGHT for r in results),
        fields_total=len(results),
    )


def _ocr_band(conf: Any) -> str:
    if conf is None:
        return "-"
    return ">=90" if conf >= 90 else "75-90" if conf >= 75 else "<75"


def analyse(rows: list[FieldRow]) -> dict[str, dict[str, tuple[int, int]]]:
    """Fields and right ones per value of each piece of evidence, alone (which predicts?)."""
    out: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in rows:
        ev = row.evidence
        kinds = field_kinds(row.doc_type)
        features = {
            "source": ev.get("source", ""),
            "boxed": str(bool(ev.get("boxed"))),
            "ocr confidence": _ocr_band(ev.get("ocr_conf")),
            "candidate": ev.get("check") or "-",
            "validation": ev.get("validation") or "clean",
            "place": "row" if ev.get("row") else "field",
            "kind": kinds.get(_INDEX.sub("[]", row.key), "text"),
        }
        for name, value in features.items():
            out[name][value][0] += 1
            out[name][value][1] += row.right
    return {k: {v: (c[0], c[1]) for v, c in sorted(vs.items())} for k, vs in out.items()}


def fit(rows: list[FieldRow]) -> dict[str, ClassRow]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        counts[row.cls][0] += 1
        counts[row.cls][1] += row.right
    return {
        cls: ClassRow(
            fields=n,
            right=r,
            accuracy=round(r / n, 4),
            confidence=round(wilson_low(r, n), 3),
        )
        for cls, (n, r) in sorted(counts.items())
    }


class BandRow(BaseModel):
    low: float
    high: float
    fields: int
    right: int
    accuracy: float
    share: float


def bands(pairs: list[tuple[float, bool]]) -> list[BandRow]:
    out = []
    for low, high in BANDS:
        inside = [ok for conf, ok in pairs if low <= conf < high]
        out.append(
            BandRow(
                low=low,
                high=min(high, 1.0),
                fields=len(inside),
                right=sum(inside),
                accuracy=round(sum(inside) / len(inside), 4) if inside else 0.0,
                share=round(len(inside) / len(pairs), 4) if pairs else 0.0,
            )
        )
    return out


def cross_validate(rows: list[FieldRow]) -> list[tuple[float, bool]]:
    """Each file's fields scored with the table fitted on the other files."""
    out = []
    for file in sorted({r.file for r in rows}):
        table = fit([r for r in rows if r.file != file])
        for r in rows:
            if r.file == file:
                conf = table[r.cls].confidence if r.cls in table else UNSEEN
                out.append((conf, r.right))
    return out


def extracted_share(
    rows: list[FieldRow],
    docs: list[DocRow],
    threshold: float = THRESHOLD,
    *,
    every_field: bool = False,
) -> tuple[int, int, int]:
    """Documents the status rule marks ``extracted`` with the table held out per file:
    (documents extracted, their fields right, their fields). The rule is the product's
    (every required field at or above ``threshold``, no validation error); with
    ``every_field``, every predicted field must reach it (a stricter rule, for comparison)."""
    n = right = total = 0
    for doc in docs:
        table = fit([r for r in rows if r.file != doc.file])
        conf = {
            r.key: table[r.cls].confidence if r.cls in table else UNSEEN
            for r in rows
            if r.file == doc.file and r.doc == doc.doc
        }
        if every_field:
            sure = all(c >= threshold for c in conf.values())
        else:
            sure = not uncertain_required(doc.doc_type, doc.values, conf, threshold)
        if sure and not doc.invalid and doc.fields_total:
            n += 1
            right += doc.fields_right
            total += doc.fields_total
    return n, right, total


def write_table(
    table: dict[str, ClassRow], meta: dict[str, Any], path: Path = CALIBRATION_FILE
) -> None:
    data = {"fit": meta, "classes": {k: v.model_dump() for k, v in table.items()}}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
