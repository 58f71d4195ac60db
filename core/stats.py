"""The one percentile of the project: benchmarks, `shipdoc eval run` and `eval retrieval`.

Linear interpolation between the two nearest ranks (numpy's default,
``statistics.quantiles(method="inclusive")``): ``percentile(x, 0.5)`` is the
``statistics.median`` printed beside it, and a p90, p95 or p99 means the same in
every report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q`` quantile (0 <= q <= 1) of ``values``, interpolated between ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q={q} is not between 0 and 1")
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
