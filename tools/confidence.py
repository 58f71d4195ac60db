"""A field's confidence from what is known about it, and the status that follows.

Each field gets its ``Evidence``: where its value was found (printed on a text layer, at
its box or not; on a scan, with the OCR confidence of its words; not found in the text at
all), for a table row whether it is printed in the row of the row's description, what the
deterministic candidate (tools/candidates, via agent/crosscheck) said (agrees, filled a
field the model left empty, replaced a look-alike, disagrees) and what validation said
(error, warning). The evidence is stored with the field's provenance, so that
``shipdoc eval calibrate`` (evals/calibrate.py) can fit what each ``evidence_class`` is
worth on the golden dev part.

The confidence is still the rule below, not the fitted table: on the 11 dev files predicted
so far only fields the candidate confirms reach 0.9 in the table, which would send every
record to review (docs/evals.md, "Calibration"). The rule: printed on a text layer 0.9, on
a scan 0.9 x the OCR confidence of its words, not found in the text 0.35; the candidate
agrees: + 0.08, filled the field: 0.85, replaced a look-alike: 0.75, disagrees: at most
0.4; a validation error caps it at 0.3, a warning at 0.6.

``extracted`` needs every required field at or above the threshold and no validation
error; otherwise the record goes to review with the uncertain fields listed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from core.records import DocType
from tools.provenance import Source
from tools.validate import REQUIRED, Issue, field_present

PRINTED = 0.9
NOT_PRINTED = 0.35
UNKNOWN_OCR = 50.0
AGREE_BONUS = 0.08
FILLED = 0.85
REPLACED = 0.75
DISAGREE_CAP = 0.4
ERROR_CAP = 0.3
WARNING_CAP = 0.6
THRESHOLD = 0.8
LIST_FIELDS = ("line_items", "containers")
_ROW = re.compile(r"^(line_items|containers)\[\d+\]\.")


@dataclass(frozen=True)
class Evidence:
    source: str  # "text" (a text layer), "ocr" or "absent" (not found in the text)
    boxed: bool = False
    ocr_conf: float | None = None
    check: str = ""  # the candidate's verdict: agrees, filled, replaced, disagrees
    validation: str = ""  # the worst validation issue on the field: error, warning
    row: bool = False  # a field of a line item or container
    aligned: bool | None = None  # a row's value printed in its row (tools/provenance)

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v not in (None, "", False)}
        if self.aligned is False:
            out["aligned"] = False
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def evidence_class(ev: Evidence) -> str:
    """The evidence class a confidence is looked up by: the strongest sign first."""
    if ev.validation == "error":
        return "invalid"
    if ev.check in ("disagrees", "replaced"):
        return ev.check
    if ev.check in ("agrees", "filled"):
        return f"{ev.check}/{ev.source}"
    if ev.source == "absent":
        return "absent"
    if ev.validation == "warning":
        return "warning"
    place = "field"
    if ev.row:
        place = "row" if ev.aligned is None else "row/aligned" if ev.aligned else "row/elsewhere"
    if ev.source == "text":
        return f"text/{place}"
    conf = ev.ocr_conf if ev.ocr_conf is not None else 0.0
    band = "90" if conf >= 90 else "75" if conf >= 75 else "0"
    return f"ocr{band}/{place}"


def field_evidence(
    sources: Mapping[str, Source],
    verdicts: Mapping[str, str] | None = None,
    issues: list[Issue] | None = None,
) -> dict[str, Evidence]:
    """Each field's evidence from its source, the candidate's verdict and validation."""
    out = {}
    for path, src in sources.items():
        worst = ""
        for issue in issues or []:
            if issue.code in ("candidate_disagrees", "low_confidence"):
                continue  # the verdict says it; low confidence follows from this
            on_field = path == issue.field or (
                bool(issue.field) and path.startswith(issue.field + ".")
            )
            if on_field and worst != "error":
                worst = "error" if issue.severity == "error" else "warning"
        out[path] = Evidence(
            source=(src.method if src.printed else "absent"),
            boxed=src.boxed,
            ocr_conf=src.ocr_conf,
            check=(verdicts or {}).get(path, ""),
            validation=worst,
            row=bool(_ROW.match(path)),
            aligned=src.aligned,
        )
    return out


def confidence_of(ev: Evidence) -> float:
    """The rule's confidence for one field's evidence."""
    if ev.source == "absent":
        conf = NOT_PRINTED
    elif ev.source == "ocr":
        ocr = ev.ocr_conf if ev.ocr_conf is not None else UNKNOWN_OCR
        conf = PRINTED * max(0.0, min(ocr, 100.0)) / 100.0
    else:
        conf = PRINTED
    if ev.check == "agrees":
        conf = min(0.98, conf + AGREE_BONUS)
    elif ev.check == "filled":
        conf = FILLED
    elif ev.check == "replaced":
        conf = REPLACED
    elif ev.check == "disagrees":
        conf = min(conf, DISAGREE_CAP)
    if ev.validation == "error":
        conf = min(conf, ERROR_CAP)
    elif ev.validation == "warning":
        conf = min(conf, WARNING_CAP)
    return round(conf, 3)


def confidences(evidence: Mapping[str, Evidence]) -> dict[str, float]:
    return {path: confidence_of(ev) for path, ev in evidence.items()}


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
