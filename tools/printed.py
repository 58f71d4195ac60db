"""Printed is not suggested: a record's codes are the ones the document prints, or null.

A small model asked for an HS code on an invoice for cloud services writes one anyway
(``8401000000``: nuclear reactors). Such a value is not evidence, it is a proposal: it is
moved out of the record into the suggestions, which the reviewer sees beside the record
and which never decide its status. The same holds for tariff candidates from the
knowledge base.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

# A digit group, then more groups joined by one dot or space: "8427.20", "8427 20 00".
_DIGIT_RUN = re.compile(r"\d+(?:[.\s]\d+)*")
CODE_FIELDS = ("hs_code", "commodity_code")
MIN_CODE_DIGITS = 4


class Suggestion(BaseModel):
    code: str
    title: str | None = None
    score: float | None = None
    # Where the proposal came from: "model" (written by the model, not printed) or
    # "tariff lookup: <description>".
    source: str


def digit_runs(text: str) -> set[str]:
    """Every run of digits in ``text`` with its dots and single spaces removed."""
    return {re.sub(r"\D", "", m.group(0)) for m in _DIGIT_RUN.finditer(text)}


def is_printed(code: str, runs: set[str]) -> bool:
    """Whether ``code`` (digits) is printed: some run of digits starts with it."""
    digits = re.sub(r"\D", "", code)
    if len(digits) < MIN_CODE_DIGITS:
        return False
    return any(run.startswith(digits) for run in runs)


def split_printed(
    values: dict[str, Any], text: str
) -> tuple[dict[str, Any], dict[str, list[Suggestion]]]:
    """``values`` with every tariff code that the text does not print set to null, and
    those codes as suggestions keyed by their field path (``line_items[2].hs_code``)."""
    runs = digit_runs(text)
    suggestions: dict[str, list[Suggestion]] = {}
    lines = []
    for i, line in enumerate(values.get("line_items") or []):
        if not isinstance(line, dict):
            lines.append(line)
            continue
        line = dict(line)
        for key in CODE_FIELDS:
            code = line.get(key)
            if code is None or str(code).strip() == "":
                continue
            if not is_printed(str(code), runs):
                suggestions[f"line_items[{i}].{key}"] = [Suggestion(code=str(code), source="model")]
                line[key] = None
        lines.append(line)
    if "line_items" in values:
        values = {**values, "line_items": lines}
    return values, suggestions


def as_json(suggestions: dict[str, list[Suggestion]]) -> dict[str, Any]:
    return {
        path: [s.model_dump(exclude_none=True) for s in items]
        for path, items in suggestions.items()
    }
