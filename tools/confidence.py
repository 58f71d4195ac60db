"""A field's confidence from what is known about it, and the status that follows.

Where it came from sets the start (tools/provenance): printed at a box on a text layer
0.9, on a scan 0.9 x the OCR confidence of its words, not found in the text 0.35. Then:

* the deterministic candidate (tools/candidates) read the same value: + 0.08 (two
  independent readings agree); the candidate filled a field the model left empty: 0.85;
  the candidate replaced a look-alike the model took: 0.75; they disagree: at most 0.4;
* validation: an error on the field caps it at 0.3, a warning at 0.6.

``extracted`` needs every required field at or above the threshold and no validation
error; otherwise the record goes to review with the uncertain fields listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.records import DocType
from tools.validate import REQUIRED, Issue, field_present

AGREE_BONUS = 0.08
FILLED = 0.85
REPLACED = 0.75
DISAGREE_CAP = 0.4
ERROR_CAP = 0.3
WARNING_CAP = 0.6
THRESHOLD = 0.8
LIST_FIELDS = ("line_items", "containers")


def combine(
    confidence: Mapping[str, float],
    verdicts: Mapping[str, str] | None = None,
    issues: list[Issue] | None = None,
) -> dict[str, float]:
    out = dict(confidence)
    for path, verdict in (verdicts or {}).items():
        if path not in out:
            continue
        base = out[path]
        if verdict == "agrees":
            out[path] = min(0.98, base + AGREE_BONUS)
        elif verdict == "filled":  # read by the rules alone
            out[path] = FILLED
        elif verdict == "replaced":
            out[path] = REPLACED
        elif verdict == "disagrees":
            out[path] = min(base, DISAGREE_CAP)
    for issue in issues or []:
        if issue.code == "candidate_disagrees":
            continue
        cap = ERROR_CAP if issue.severity == "error" else WARNING_CAP
        for path in out:
            if path == issue.field or path.startswith(issue.field + "."):
                out[path] = min(out[path], cap)
    return {k: round(v, 3) for k, v in out.items()}


def uncertain_required(
    doc_type: DocType,
    values: dict[str, Any],
    confidence: Mapping[str, float],
    threshold: float,
    issues: list[Issue] | None = None,
) -> list[Issue]:
    """A ``low_confidence`` issue for each requirement none of whose present fields reaches
    ``threshold`` (fields with a validation error are listed by that error already)."""
    flagged = {i.field for i in issues or [] if i.severity == "error"}
    out = []
    for alternatives in REQUIRED[doc_type]:
        present = [p for p in alternatives if field_present(values, p) and p not in flagged]
        if not present or any(p in LIST_FIELDS for p in present):
            continue  # missing: validation reports it; a table: its presence is the check
        scores = [_score(confidence, p) for p in present]
        if max(scores) < threshold:
            out.append(
                Issue(
                    code="low_confidence",
                    field=present[0],
                    message=f"confidence {max(scores):.2f} is below {threshold:.2f}: check it",
                    severity="warning",
                )
            )
    return out


def _score(confidence: Mapping[str, float], path: str) -> float:
    return confidence.get(path, 0.0)
