"""Prompt rendering: templates from ``prompts/``, the output shape, the untrusted document.

The order is fixed so that a server's prefix cache serves the stable part: system prompt
(template + the doc type's output shape) first, the document text after it. The prompt
version recorded on each run is the hash of every template file.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from string import Template
from typing import Any

from pydantic import BaseModel

from core.errors import ConfigurationError
from core.records import DocType, values_model_for
from tools.layout import layout_text
from tools.provenance import PageText
from tools.validate import Issue

# Every template the code renders; a missing one is a configuration error at start-up.
TEMPLATES = ("classify", "extract_system", "repair", "untrusted_note")

# Every tag that fences untrusted text in our prompts: the document's pages (extraction) and
# the chat's context and sources (agent/chat.py). ``defuse`` keeps them all out of that text.
DELIMITER_TAGS = ("document", "page", "context", "source")
_DELIMITERS = re.compile(rf"<\s*/?\s*({'|'.join(DELIMITER_TAGS)})\b", re.IGNORECASE)
# Chat-template special tokens (ChatML ``<|im_start|>``, ``<|im_end|>``, ``<|endoftext|>``).
_SPECIAL_TOKENS = re.compile(r"<\s*\|[^|<>]{0,40}\|\s*>")


def _visible(text: str) -> str:
    """``text`` without invisible format characters (zero-width spaces and joiners, BOM,
    bidirectional marks): they can hide a delimiter or a quote from a pattern."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


@lru_cache(maxsize=1)
def prompts_dir() -> Path:
    """The top-level ``prompts`` package: the checkout's folder, or the installed wheel's."""
    spec = find_spec("prompts")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ConfigurationError("the prompts package is not installed beside agent")
    return Path(locations[0])


@lru_cache(maxsize=16)
def template(name: str) -> str:
    path = prompts_dir() / f"{name}.txt"
    if not path.is_file():
        raise ConfigurationError(f"prompt template {path} is missing")
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        raise ConfigurationError(f"prompt template {path} is empty")
    return text


@lru_cache(maxsize=1)
def prompt_version() -> str:
    """Content hash of all templates: two runs with equal versions saw equal prompts.

    Raises ``ConfigurationError`` when a template is missing or empty, so calling it at
    start-up (CLI, API, worker) refuses to run without prompts instead of recording the
    hash of nothing.
    """
    for name in TEMPLATES:
        template(name)
    digest = hashlib.sha256()
    for path in sorted(prompts_dir().glob("*.txt")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _shape(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "$ref" in schema:
        return _shape(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if options:
        inner = _shape(options[0], defs)
        return schema.get("description", inner) if isinstance(inner, str) else inner
    kind = schema.get("type")
    if kind == "object":
        return {k: _shape(v, defs) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_shape(schema.get("items", {}), defs)]
    simple = {"integer": "integer", "number": "number", "boolean": "true/false"}
    return schema.get("description", simple.get(str(kind), "text"))


def output_shape(doc_type: DocType, header_only: bool = False) -> str:
    """A compact JSON skeleton of the values model (far fewer tokens than its JSON schema)."""
    schema = values_model_for(doc_type).model_json_schema()
    shape = _shape(schema, schema.get("$defs", {}))
    if header_only:
        shape.pop("line_items", None)
    return json.dumps(shape, separators=(",", ":"))


def system_prompt(doc_type: DocType, header_only: bool = False) -> str:
    """``header_only``: the shape without ``line_items`` (read from the table, agent/tables)."""
    return f"{template('extract_system')}\n{output_shape(doc_type, header_only)}"


def defuse(text: str) -> str:
    """Untrusted text (a document, a record, a knowledge-base chunk) cannot open or close our
    delimiters, nor write chat-template tokens."""
    text = _DELIMITERS.sub(lambda m: m.group(0).replace("<", "‹"), _visible(text))
    return _SPECIAL_TOKENS.sub(lambda m: m.group(0).replace("<", "‹"), text)


def page_text(page: PageText) -> str:
    """What the model reads of ``page``: its words in reading order with rows, label-value
    pairs and columns kept (``tools.layout``), or its text when it has no word boxes.
    Provenance still looks values up in ``page.text`` and ``page.words``."""
    return layout_text(page.words) if page.words else page.text


def render_document(pages: list[PageText]) -> str:
    parts = [template("untrusted_note"), "<document>"]
    for page in pages:
        parts.append(f'<page number="{page.number}">\n{defuse(page_text(page).strip())}\n</page>')
    parts.append("</document>")
    return "\n".join(parts)


def render_candidates(candidates: dict[str, list[tuple[str, str]]]) -> str:
    """Precomputed tariff candidates per goods description, for the model to choose from."""
    if not candidates:
        return ""
    lines = ["Tariff candidates from the knowledge base (code: heading):"]
    for description, options in candidates.items():
        listed = "; ".join(f"{code}: {title[:60]}" for code, title in options)
        lines.append(f"- {defuse(description[:80])} -> {listed}")
    return "\n".join(lines)


def render_issues(issues: list[Issue]) -> str:
    # The example names one of this record's own fields: a fixed example
    # ("line_items[0].amount") was copied verbatim into a bill of lading's patch.
    named = [i.field for i in issues if i.field]
    return Template(template("repair")).safe_substitute(
        issues="\n".join(f"- {i.field}: {i.message}" for i in issues),
        field=named[0] if named else "total",
    )


def classify_prompt() -> str:
    return template("classify")


def record_json(values: BaseModel | dict[str, Any]) -> str:
    data = values.model_dump(exclude_none=True) if isinstance(values, BaseModel) else values
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


_LEAK_MIN = 40


@lru_cache(maxsize=1)
def _prompt_fragments() -> tuple[str, ...]:
    """Lines of our templates long enough that a value containing one is a leak."""
    lines = []
    for path in sorted(prompts_dir().glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            norm = " ".join(line.lower().split()).lstrip("- ")
            if len(norm) >= _LEAK_MIN:
                lines.append(norm[: _LEAK_MIN * 2])
    return tuple(lines)


def _is_leak(value: str) -> bool:
    norm = " ".join(unicodedata.normalize("NFKC", _visible(value)).lower().split())
    if len(norm) < _LEAK_MIN:
        return False
    return any(f in norm or (len(norm) >= _LEAK_MIN and norm in f) for f in _prompt_fragments())


def scrub_prompt_leaks(record: Any, path: str = "") -> tuple[Any, list[str]]:
    """``record`` with every value that quotes our prompts set to None, and their paths."""
    if isinstance(record, dict):
        out: dict[str, Any] = {}
        leaks: list[str] = []
        for key, value in record.items():
            out[key], found = scrub_prompt_leaks(value, f"{path}.{key}" if path else key)
            leaks += found
        return out, leaks
    if isinstance(record, list):
        items = [scrub_prompt_leaks(v, f"{path}[{i}]") for i, v in enumerate(record)]
        return [v for v, _ in items], [p for _, found in items for p in found]
    if isinstance(record, str) and _is_leak(record):
        return None, [path]
    return record, []
