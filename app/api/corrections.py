"""Reviewer corrections keyed like the record envelope: ``shipper.name`` for a field,
``line_items[2].amount`` / ``containers[0].seal`` for a row's field.

A correction never overwrites the extracted data: the record keeps it, the review keeps
the original and the corrected value, and ``apply_corrections`` computes the corrected
view on read.

A correction must name a printed field of the record's schema (never ``status`` or a
field the schema does not have), hold a value of that field's type and of a printed
value's size. A correction made against other data (the record was extracted again
since, and the value it corrected changed) is *stale*: it is kept in the history but not
applied to the new data (``corrections_in_force``).
"""

from __future__ import annotations

import copy
import json
import re
import types
from collections.abc import Iterable
from typing import Any, Union, cast, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from core.errors import InputError
from core.records import DocType, values_model_for

# More fields than any record has, and more text than any printed value holds.
MAX_FIELDS = 200
MAX_VALUE_CHARS = 2000

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


def _unwrap(annotation: Any) -> Any:
    """``X`` of ``X | None``."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _field_type(doc_type: str, path: str) -> Any:
    """The type of the printed value at ``path``; BadCorrection if the schema has none."""
    rows, _index, field = parse_path(path)
    model: type[BaseModel] = values_model_for(cast(DocType, doc_type))
    if rows is not None:
        info = model.model_fields.get(rows)
        item = get_args(info.annotation)[0] if info is not None else None
        if not (isinstance(item, type) and issubclass(item, BaseModel)):
            raise BadCorrection(f"{path!r}: a {doc_type} has no {rows}")
        model = item
    *parents, last = field.split(".")
    for part in parents:
        info = model.model_fields.get(part)
        inner = _unwrap(info.annotation) if info is not None else None
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            raise BadCorrection(f"{path!r} is not a field of a {doc_type}")
        model = inner
    info = model.model_fields.get(last)
    if info is None:
        raise BadCorrection(f"{path!r} is not a field of a {doc_type}")
    leaf = _unwrap(info.annotation)
    if get_origin(leaf) is list or (isinstance(leaf, type) and issubclass(leaf, BaseModel)):
        raise BadCorrection(f"{path!r} holds a group of fields; correct its fields one by one")
    return info.annotation


def check_corrections(
    doc_type: str, data: dict[str, Any], fields: dict[str, Any]
) -> dict[str, Any]:
    """The corrections as validated values of the record's schema; BadCorrection otherwise."""
    if len(fields) > MAX_FIELDS:
        raise BadCorrection(f"{len(fields)} fields; at most {MAX_FIELDS} per review")
    checked: dict[str, Any] = {}
    for path, value in fields.items():
        annotation = _field_type(doc_type, path)
        if len(json.dumps(value, default=str)) > MAX_VALUE_CHARS:
            raise BadCorrection(f"{path!r}: the value is over {MAX_VALUE_CHARS} characters")
        rows, index, _field = parse_path(path)
        if rows is not None and (index is None or index >= len(data.get(rows) or [])):
            raise BadCorrection(f"{path!r}: the record has no {rows}[{index}]")
        try:
            checked[path] = TypeAdapter(annotation).validate_python(value)
        except ValidationError as exc:
            message = exc.errors(include_url=False)[0]["msg"]
            raise BadCorrection(f"{path!r}: {message}") from exc
    return checked


def corrections_in_force(
    data: dict[str, Any], reviews: Iterable[tuple[dict[str, Any], dict[str, Any]]]
) -> tuple[dict[str, Any], list[str]]:
    """The corrections to apply to ``data`` and the paths of stale ones, from the reviews'
    ``(original, corrected)`` pairs in order: a correction applies only where the value it
    corrected is still the value there."""
    now: dict[str, Any] = {}
    stale: list[str] = []
    for original, corrected in reviews:
        for path, value in corrected.items():
            before = now[path] if path in now else current_value(data, path)
            if path in original and original[path] != before:
                if path not in stale:
                    stale.append(path)
                continue
            now[path] = value
    return now, stale
