"""The calibration fit: evidence per predicted field, right or wrong, classes and bands."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.records import FileRecords
from evals.calibrate import bands, collect, cross_validate, fit, wilson_low
from evals.goldenset import load_golden_truth
from evals.run import FileRun
from evals.split import load_split


def test_wilson_low_end_trusts_few_fields_less() -> None:
    assert wilson_low(10, 10) == pytest.approx(10 / 11)
    assert wilson_low(100, 100) > wilson_low(10, 10) > wilson_low(3, 3)
    assert wilson_low(0, 5) == 0.0
    assert 0.85 < wilson_low(95, 100) < 0.95


def _fake_predictions(tmp_path: Path, n: int) -> tuple[list[str], Path]:
    """Dev text-layer files predicted as their ground truth, with one field made wrong."""
    dev = set(load_split()["dev"])
    truths = [t for t in load_golden_truth() if t.id in dev and t.spec.scan is None][:n]
    cache = tmp_path / "predictions" / "fake"
    cache.mkdir(parents=True)
    for truth in truths:
        pred = FileRecords(
            file=truth.file, documents=[d.model_copy(deep=True) for d in truth.documents]
        )
        fields = pred.documents[0].fields
        name = next(k for k, v in sorted(fields.items()) if isinstance(v.value, str))
        fields[name].value = "WRONG VALUE"
        (cache / f"{truth.id}.json").write_text(pred.model_dump_json(), "utf-8")
        (cache / f"{truth.id}.run.json").write_text(
            FileRun(file=truth.file).model_dump_json(), "utf-8"
        )
    return [t.id for t in truths], cache


def test_fields_get_evidence_and_the_scorer_s_verdict(tmp_path: Path) -> None:
    ids, cache = _fake_predictions(tmp_path, 3)
    truths = [t for t in load_golden_truth() if t.id in ids]
    fields, docs = collect(truths, [cache], tmp_path)
    assert {r.file for r in fields} == set(ids)
    wrong = [r for r in fields if not r.right]
    assert len(wrong) == 3  # exactly the values made wrong, nothing else
    assert all(r.cls in ("absent", "invalid", "disagrees") for r in wrong)
    assert all(not r.recorded for r in fields)  # a prediction without recorded evidence
    printed = [r for r in fields if r.cls.startswith("text/")]
    assert printed and all(r.right for r in printed)
    table = fit(fields)
    assert sum(row.fields for row in table.values()) == len(fields)
    held_out = cross_validate(fields)
    assert len(held_out) == len(fields)
    assert sum(b.fields for b in bands(held_out)) == len(fields)
    assert len(docs) == sum(len(t.documents) for t in truths)
