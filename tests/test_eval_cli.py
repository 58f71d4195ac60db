"""``shipdoc eval corpus|extract|retrieval`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()


def test_corpus_then_extract_with_perfect_and_empty_predictions(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    result = runner.invoke(app, ["eval", "corpus", "--out", str(out), "--n", "4", "--seed", "9"])
    assert result.exit_code == 0, result.output
    assert "4 files" in result.output
    truths = sorted(p for p in out.glob("c*.json"))
    assert len(truths) == 4 and len(list(out.glob("c*.pdf")) + list(out.glob("c*.[pjt]*g"))) >= 1

    perfect = tmp_path / "perfect"
    perfect.mkdir()
    for p in truths:  # ground truth as predictions: the envelope format is accepted as-is
        (perfect / p.name).write_bytes(p.read_bytes())
    report = tmp_path / "r.json"
    args = ["eval", "extract", "--golden", str(out), "--predictions", str(perfect)]
    result = runner.invoke(app, [*args, "--report", str(report), "--fields"])
    assert result.exit_code == 0, result.output
    assert "overall" in result.output
    data = json.loads(report.read_text())
    assert data["overall"]["micro"]["accuracy"] == 1.0
    assert data["splitting"]["page_group_accuracy"] == 1.0

    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["eval", "extract", "--golden", str(out), "--predictions", str(empty)]
    result = runner.invoke(app, [*args, "--report", str(report)])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["overall"]["micro"]["recall"] == 0.0
    assert data["splitting"]["counts"]["files_without_prediction"] == 4


def test_retrieval_compares_lookups(tmp_path: Path) -> None:
    report = tmp_path / "ret.json"
    args = ["eval", "retrieval", "--lookup", "keyword", "--lookup", "random"]
    result = runner.invoke(app, [*args, "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "HS6" in result.output and "keyword" in result.output
    assert "style=brand" in result.output and "lang=nl" in result.output
    reports = json.loads(report.read_text())
    names = ["keyword [dev]", "keyword [test]", "random [dev]", "random [test]"]
    assert [r["lookup"] for r in reports] == names
    assert reports[1]["levels"]["6"]["mrr"] > reports[3]["levels"]["6"]["mrr"]
    assert reports[0]["cases"] + reports[1]["cases"] >= 600


def test_retrieval_refuses_an_unknown_split() -> None:
    result = runner.invoke(app, ["eval", "retrieval", "--split", "train"])
    assert result.exit_code != 0
    assert "unknown split" in str(result.exception)


def test_extract_with_a_missing_golden_folder_is_bad_input(tmp_path: Path) -> None:
    args = ["eval", "extract", "--golden", str(tmp_path / "nope"), "--predictions", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert "golden" in str(result.exception)
