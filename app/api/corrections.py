"""Reviewer corrections keyed like the record envelope: ``shipper.name`` for a field,
``line_items[2].amount`` / ``containers[0].seal`` for a row's field.

A correction never overwrites the extracted data: the record keeps it, the review keeps
the original and the corrected value, and ``apply_corrections`` computes the corrected
view on read.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from core.errors import InputError

_FIELD = r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*"
_PATH = re.compile(rf"^(?:(line_items|containers)\[(\d+)\]\.)?({_FIELD})$")


class BadCorrection(InputError):
    code = "bad_correction"


def parse_path(path: str) -> tuple[str | None, int | None, str]:
    match = _PATH.match(path)
    if match is None:
        raise BadCorrection(
            f"{path!r} is not a field path (expected e.g. shipper.name or line_items[0].amount)"
        )
    rows, index, field = match.groups()
    return rows, (int(index) if index is not None else None), field


def _slot(data: dict[str, Any], path: str, *, create: bool) -> tuple[dict[str, Any], str] | None:
    """The dict holding the value at ``path`` and its key there (None if absent).

    Handles both shapes a record's data may have: the envelope (``fields`` and rows keyed
    by dotted path, values wrapped as ``{"value": ...}``) and the nested values model.
    """
    rows, index, field = parse_path(path)
    base: Any = data
    if rows is not None:
        items = data.get(rows)
        if not isinstance(items, list) or index is None or index >= len(items):
            return None
        base = items[index]
    elif isinstance(data.get("fields"), dict):
        return data["fields"], field
    if not isinstance(base, dict):
        return None
    if field in base:
        return base, field
    *parents, last = field.split(".")
    for part in parents:
        nxt = base.get(part)
        if nxt is None and create:
            nxt = base[part] = {}
        if not isinstance(nxt, dict):
            return None
        base = nxt
    return base, last


def current_value(data: dict[str, Any], path: str) -> Any:
    slot = _slot(data, path, create=False)
    if slot is None:
        return None
    value = slot[0].get(slot[1])
    return value.get("value") if isinstance(value, dict) and "value" in value else value


def apply_corrections(data: dict[str, Any], corrections: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with each corrected value set (marked ``corrected`` in the envelope)."""
    out = copy.deepcopy(data)
    for path, value in corrections.items():
        slot = _slot(out, path, create=True)
        if slot is None:
            continue
        holder, key = slot
        existing = holder.get(key)
        if isinstance(existing, dict) and "value" in existing:
            holder[key] = {**existing, "value": value, "corrected": True}
        else:
            holder[key] = value
    return out
