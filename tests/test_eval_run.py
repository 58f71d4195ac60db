"""``shipdoc eval run``: the golden split, the stratified sample, extraction + scoring + cache."""

from __future__ import annotations

import json
from pathlib import Path

from agent.models.base import ChatRequest, ChatResponse
from core.records import record_to_values
from core.settings import Settings
from evals.goldenset import load_golden_truth
from evals.run import calibration, run_files, score_run, tariff_unavailable
from evals.scoring.extraction import FieldResult
from evals.split import SPLIT_FILE, load_split, make_split, stratified_sample, stratum


def test_committed_split_is_the_deterministic_one_and_parts_are_disjoint() -> None:
    truths = load_golden_truth()
    committed = load_split()
    assert committed == make_split(truths)
    assert not set(committed["dev"]) & set(committed["test"])
    assert set(committed["dev"]) | set(committed["test"]) == {t.id for t in truths}
    assert json.loads(SPLIT_FILE.read_text())["test"] == committed["test"]


def test_both_parts_see_every_type_and_layout() -> None:
    truths = load_golden_truth()
    split = load_split()
    for part in ("dev", "test"):
        strata = {stratum(t)[:2] for t in truths if t.id in split[part]}
        assert len(strata) == 12, (part, strata)


def test_sample_of_36_takes_three_per_type_and_layout_with_scans() -> None:
    truths = [t for t in load_golden_truth() if t.id in load_split()["test"]]
    sample = stratified_sample(truths, 36, 0)
    assert sample == stratified_sample(truths, 36, 0)
    counts: dict[tuple[str, str], int] = {}
    for t in sample:
        key = stratum(t)[:2]
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 12 and set(counts.values()) == {3}
    assert sum(t.spec.scan is not None for t in sample) >= 6


class OracleModel:
    """Answers each extraction request with the ground truth of the document it is shown."""

    backend = "scripted"
    name = "oracle"

    def __init__(self, answers: dict[str, dict[str, object]]) -> None:
        self.answers = answers
        self.requests = 0

    def chat(self, request: ChatRequest) -> ChatResponse:
        self.requests += 1
        text = "\n".join(m.content for m in request.messages)
        record = next((v for k, v in self.answers.items() if k in text), {})
        return ChatResponse(content=json.dumps(record), model="oracle", backend="scripted")


def _oracle(truths: list) -> OracleModel:  # type: ignore[type-arg]
    answers = {}
    for truth in truths:
        for doc in truth.documents:
            values = record_to_values(doc).model_dump()
            key = next(str(f.value) for k, f in doc.fields.items() if k.endswith("number"))
            answers[key] = values
    return OracleModel(answers)


def test_run_extracts_scores_and_resumes_from_the_cache(settings: Settings, tmp_path: Path) -> None:
    truths = [t for t in load_golden_truth() if t.id in ("c2026-0008-inv", "c2026-0006-bl")]
    model = _oracle(truths)
    _, nothing = run_files(
        truths, tmp_path / "eval", settings=settings, model=model, cached_only=True
    )
    assert nothing == {} and model.requests == 0
    key, done = run_files(truths, tmp_path / "eval", settings=settings, model=model)
    assert model.requests >= 2
    report = score_run(key, truths, done)
    assert report.extraction.files == 2
    assert report.extraction.overall.micro.accuracy > 0.8
    assert report.per_document["requests"].median >= 1
    assert sum(b.fields for b in report.calibration) > 0
    assert not report.errors

    asked = model.requests
    key2, again = run_files(truths, tmp_path / "eval", settings=settings, model=model)
    assert key2 == key and model.requests == asked  # every file came from the cache
    assert score_run(key2, truths, again).extraction == report.extraction


def test_calibration_bands_count_predicted_fields_only() -> None:
    def result(outcome: str, conf: float | None) -> FieldResult:
        return FieldResult(doc_type="packing_list", key="x", outcome=outcome, confidence=conf)  # type: ignore[arg-type]

    results = [result("exact", 0.95), result("wrong", 0.95), result("missing", None)]
    bands = calibration([*results, result("exact", 0.6)])
    top = bands[-1]
    assert (top.fields, top.correct, top.accuracy) == (2, 1, 0.5)
    assert bands[1].fields == 1 and bands[1].coverage == round(1 / 3, 4)


def test_a_run_without_the_knowledge_base_is_told_that_lookups_will_fail(
    settings: Settings,
) -> None:
    why = tariff_unavailable(settings)  # a fresh var dir: nothing ingested
    assert why is not None and "kb ingest" in why
