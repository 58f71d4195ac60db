"""The retrieval harness: the golden set, the metrics, and baselines it can tell apart."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence

import pytest

from core.errors import InputError
from core.settings import get_settings
from evals.retrieval import (
    DEFAULT_GOLDEN,
    RetrievalCase,
    evaluate_retrieval,
    get_lookup,
    load_golden,
    lookup_names,
    register_lookup,
)
from kb.ingest import data_dir


def _nomenclature() -> dict[str, str]:
    path = data_dir(get_settings()) / "hs2022" / "harmonized-system.csv"
    with path.open(encoding="utf-8") as fh:
        return {r["hscode"]: r["description"] for r in csv.DictReader(fh)}


def test_golden_set_is_large_multilingual_and_valid() -> None:
    cases = load_golden(DEFAULT_GOLDEN)
    assert len(cases) >= 200
    assert len({c.id for c in cases}) == len(cases)
    langs = Counter(c.lang for c in cases)
    assert set(langs) == {"en", "nl", "de", "fr"} and min(langs.values()) >= 40
    hs = _nomenclature()
    descriptions = {d.casefold() for d in hs.values()}
    for case in cases:
        assert case.hs6 in hs, case
        assert case.text.casefold() not in descriptions, f"copied from the nomenclature: {case}"
    assert len({c.hs6 for c in cases}) >= 100


def test_golden_set_has_every_style_and_a_split_by_chapter() -> None:
    cases = load_golden(DEFAULT_GOLDEN)
    assert len(cases) >= 600
    styles = Counter(c.style for c in cases if c.writer == "w2")
    wanted = {"vague", "brand", "jargon", "material", "use", "lang", "invoice"}
    assert set(styles) == wanted and min(styles.values()) >= 30
    sides: dict[str, set[str]] = {}
    for case in cases:
        sides.setdefault(case.hs6[:2], set()).add(case.split)
    assert all(len(s) == 1 for s in sides.values())  # a chapter never straddles the split
    counts = Counter(c.split for c in cases)
    assert min(counts["dev"], counts["test"]) >= 0.4 * len(cases)
    test_styles = Counter(c.style for c in cases if c.split == "test")
    assert all(test_styles[s] >= 10 for s in wanted), test_styles


def _case(i: int, hs6: str, lang: str = "en") -> RetrievalCase:
    return RetrievalCase(id=f"t{i}", lang=lang, text=f"goods {i}", hs6=hs6)


def test_metrics_on_a_lookup_with_known_ranks() -> None:
    cases = [_case(0, "610910"), _case(1, "851713"), _case(2, "940180", "de"), _case(3, "090121")]
    answers: dict[str, Sequence[str]] = {
        "goods 0": ["610910", "610990"],  # rank 1
        "goods 1": ["851762", "8517.13.00", "851713"],  # rank 2 (dotted 8-digit counts)
        "goods 2": ["940171", "940179", "940161", "940169", "940199", "940180"],  # rank 6
        "goods 3": ["220421"],  # miss
    }
    report = evaluate_retrieval(cases, lambda text: answers[text], ks=(1, 5, 10))
    six = report.levels[6]
    assert six.recall == {1: 0.25, 5: 0.5, 10: 0.75}
    assert six.mrr == pytest.approx((1 + 1 / 2 + 1 / 6) / 4, abs=1e-4)
    four = report.levels[4]
    assert four.recall[1] == 0.75  # 6109, 8517 and 9401 all start the lists
    assert report.levels[2].recall[10] == 0.75
    assert report.misses_at_6 == ["t3"]
    assert report.by_lang["de"][6].recall[5] == 0.0


def test_keyword_baseline_beats_random_at_every_level() -> None:
    cases = load_golden(DEFAULT_GOLDEN)
    keyword = evaluate_retrieval(cases, get_lookup("keyword"), name="keyword")
    rand = evaluate_retrieval(cases, get_lookup("random"), name="random")
    for level in (6, 4, 2):
        for k in (1, 5, 10):
            assert keyword.levels[level].recall[k] > rand.levels[level].recall[k], (level, k)
        assert keyword.levels[level].mrr > rand.levels[level].mrr
    assert keyword.levels[6].recall[10] >= 0.25
    assert rand.levels[6].recall[10] <= 0.02


def test_registry_takes_new_lookups_and_refuses_unknown_names() -> None:
    register_lookup("always-tshirts", lambda: lambda text: ["610910"])
    assert "always-tshirts" in lookup_names()
    assert list(get_lookup("always-tshirts")("anything")) == ["610910"]
    with pytest.raises(InputError, match="unknown lookup"):
        get_lookup("no-such-lookup")
