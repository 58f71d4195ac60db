"""Deterministic candidates (tools/candidates) as hints before the model and checks after it.

Before: the doc type's candidates and the look-alikes to avoid go into the user message,
after the document. After: each checked field is compared with its candidate.

* same value: the field is confirmed (its confidence rises);
* the model left it empty: the candidate fills it;
* the model took a look-alike (an order number, an order date, a subtotal) or read a
  printed date with day and month swapped: the candidate replaces it;
* otherwise they disagree: a value named by a field's own label (``Invoice No.``) wins
  over the model's, and the record says so in a warning issue either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core.records import DocType
from core.values import normalize_currency, parse_date, parse_number
from tools.candidates import Candidate, best, normalize_incoterm, traps
from tools.validate import Issue

Verdict = Literal["agrees", "filled", "replaced", "disagrees"]

CHECKED: dict[DocType, tuple[str, ...]] = {
    "commercial_invoice": ("invoice_number", "invoice_date", "total", "currency", "incoterm"),
    "bill_of_lading": ("bl_number",),
    "packing_list": ("packing_list_number",),
    "customs_declaration": ("mrn", "currency"),
}


@dataclass
class CrossCheck:
    values: dict[str, Any]
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def render_hints(doc_type: DocType, candidates: list[Candidate]) -> str:
    """The candidates of the doc type's checked fields, for the model to verify."""
    found = []
    avoid = []
    for name in CHECKED[doc_type]:
        cand = best(candidates, name)
        if cand is not None:
            where = f' (after "{cand.label}")' if cand.label else ""
            found.append(f"- {name}: {cand.value}{where}")
        for trap in traps(candidates, name)[:2]:
            if cand is None or not same_value(name, trap.value, cand.value):
                avoid.append(f'- {trap.value} (after "{trap.label}") is not the {name}')
    if not found and not avoid:
        return ""
    lines = ["Read by rules from the text; check each against the document:", *found]
    if avoid:
        lines += ["Look-alikes, not these fields:", *avoid]
    return "\n".join(lines)


def _squash(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def same_value(name: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    if name == "total":
        x, y = parse_number(a, strict=False), parse_number(b, strict=False)
        return x is not None and y is not None and abs(x - y) <= max(0.011, 0.001 * abs(x))
    if name.endswith("date"):
        d1, d2 = parse_date(str(a)), parse_date(str(b))
        return d1 is not None and d1 == d2
    if name == "incoterm":
        return normalize_incoterm(str(a)) == normalize_incoterm(str(b))
    if name == "currency":
        return normalize_currency(str(a)) == normalize_currency(str(b))
    return _squash(str(a)) == _squash(str(b))


def _swapped(a: Any, b: Any) -> bool:
    d1, d2 = parse_date(str(a)), parse_date(str(b))
    return d1 is not None and d2 is not None and (d1.day, d1.month) == (d2.month, d2.day)


def crosscheck(
    doc_type: DocType, values: dict[str, Any], candidates: list[Candidate]
) -> CrossCheck:
    out = CrossCheck(values=dict(values))
    for name in CHECKED[doc_type]:
        cand = best(candidates, name)
        if cand is None:
            continue
        model = out.values.get(name)
        if model is None or str(model).strip() == "":
            out.values[name] = cand.value
            out.verdicts[name] = "filled"
        elif same_value(name, model, cand.value):
            out.verdicts[name] = "agrees"
        elif any(same_value(name, model, t.value) for t in traps(candidates, name)) or (
            name.endswith("date") and _swapped(model, cand.value)
        ):
            out.values[name] = cand.value
            out.verdicts[name] = "replaced"
            out.issues.append(
                _warning(name, model, cand, "took a look-alike; the rule's value is kept")
            )
        else:
            out.verdicts[name] = "disagrees"
            keep_rule = bool(cand.label) and not cand.weak
            if keep_rule:
                out.values[name] = cand.value
            kept = "the rule's" if keep_rule else "the model's"
            out.issues.append(_warning(name, model, cand, f"they disagree; {kept} value is kept"))
    return out


def final_verdicts(
    doc_type: DocType,
    values: dict[str, Any],
    candidates: list[Candidate],
    first: dict[str, str],
) -> dict[str, str]:
    """How the record's final values (after any repair) compare with the candidates."""
    out: dict[str, str] = {}
    for name in CHECKED[doc_type]:
        cand = best(candidates, name)
        value = values.get(name)
        if cand is None or value is None or str(value).strip() == "":
            continue
        if same_value(name, value, cand.value):
            before = first.get(name, "agrees")
            out[name] = before if before in ("filled", "replaced") else "agrees"
        else:
            out[name] = "disagrees"
    return out


def _warning(name: str, model: Any, cand: Candidate, what: str) -> Issue:
    label = f' after "{cand.label}"' if cand.label else ""
    return Issue(
        code="candidate_disagrees",
        field=name,
        message=f"model read {model!r}, rules read {cand.value!r}{label}: {what}",
        severity="warning",
    )
