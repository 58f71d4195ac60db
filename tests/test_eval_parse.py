"""Every golden document through the real parser (tools.parse, Tesseract for scans): its
text must hold the ground-truth values. This tests the parser and the generator together."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from evals.corpus import GroundTruth
from evals.goldenset import materialise
from evals.parsecheck import TextCheck, check_text
from tools.parse import parse_bytes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checked(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[tuple[GroundTruth, TextCheck]]]:
    out = tmp_path_factory.mktemp("golden")
    items = materialise(out)  # raises GoldenDrift if the committed truth is not reproduced

    def run(item: tuple[Path, GroundTruth]) -> tuple[GroundTruth, TextCheck]:
        path, truth = item
        parsed = parse_bytes(path.read_bytes())
        assert parsed.page_count == truth.page_count, truth.file
        return truth, check_text(truth, parsed.text)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_THREAD_LIMIT", "1")  # Tesseract: one thread each, documents in parallel
        with ThreadPoolExecutor(max_workers=2) as pool:
            yield list(pool.map(run, items))


def test_text_pdfs_hold_every_ground_truth_value(
    checked: list[tuple[GroundTruth, TextCheck]],
) -> None:
    text = [(t, c) for t, c in checked if t.spec.scan is None]
    assert len(text) >= 90
    missing = {t.file: c.missing for t, c in text if c.missing}
    assert not missing
    assert sum(c.values for _, c in text) > 10_000


def test_scans_hold_at_least_90_percent_of_the_ground_truth_words(
    checked: list[tuple[GroundTruth, TextCheck]],
) -> None:
    scans = [c for t, c in checked if t.spec.scan is not None]
    assert len(scans) >= 20
    recall = sum(c.words_found for c in scans) / sum(c.words for c in scans)
    print(f"OCR word recall over {len(scans)} scanned files: {recall:.4f}")
    assert recall >= 0.90
    worst = min(scans, key=lambda c: c.word_recall)
    assert worst.word_recall >= 0.75, (worst.file, worst.missing)
