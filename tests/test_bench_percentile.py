"""Benchmarks and evaluation reports print percentiles of one definition (core/stats.py): a p99
in one means what it means in another, and a p50 is the median printed beside it."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

from core.stats import percentile

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("n", [1, 2, 5, 11, 20, 101])
def test_percentiles_interpolate_like_the_median_beside_them(n: int) -> None:
    values = [float((i * 37) % 101) for i in range(n)]
    assert percentile(values, 0.5) == pytest.approx(statistics.median(values))
    assert percentile(values, 0.0) == min(values) and percentile(values, 1.0) == max(values)
    if n > 1:
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        for q in range(1, 100):
            assert percentile(values, q / 100) == pytest.approx(cuts[q - 1])


def test_p95_of_twenty_latencies_is_between_the_two_ranks() -> None:
    latencies = [float(i) for i in range(1, 21)]  # 1..20 ms
    assert percentile(latencies, 0.95) == pytest.approx(19.05)


# a percentile function of a script's own, or a rank picked from a sorted list by hand
_OWN = re.compile(r"def (\w*percentile\w*|p\d\d)\(|\[(int|round)\([\d.]+ \*|\[min\(len\(")


def test_no_script_or_report_computes_a_percentile_of_its_own() -> None:
    scripts = [*ROOT.glob("bench/*.py"), *ROOT.glob("evals/*.py"), *ROOT.glob("app/**/*.py")]
    own = [
        str(p.relative_to(ROOT))
        for p in sorted(scripts)
        if _OWN.search(p.read_text(encoding="utf-8"))
    ]
    assert not own, f"percentiles of their own: {own}"
