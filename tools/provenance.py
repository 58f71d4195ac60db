"""Per-field provenance and confidence: where on which page a value was read.

A value found verbatim in a page's text gets that page, the source text and the box of the
words it spans; its confidence is high on a text layer and scaled by the OCR confidence of
those words on a scan. A value not found verbatim (a normalized code, a computed number)
gets no provenance and a lower confidence: a reviewer should look at it first.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from tools.validate_codes import COUNTRY_NAMES

# Printed at a box on a text layer; not printed where the model says (see tools/confidence).
FOUND_TEXT_LAYER = 0.9
NOT_FOUND = 0.35


class PageText(BaseModel):
    number: int
    text: str
    method: str = "text"
    confidence: float | None = None
    words: list[dict[str, Any]] = Field(default_factory=list)


def flat_values(values: dict[str, Any]) -> dict[str, Any]:
    """``{"shipper": {"name": x}, "line_items": [{"amount": 1}]}`` -> dotted, indexed keys."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else key)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{prefix}[{i}]")
        elif node is not None and node != "":
            out[prefix] = node

    walk(values, "")
    return out


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _date_spellings(text: str) -> list[str]:
    """The usual printed forms of an ISO date (the record holds ISO, the page may not)."""
    m = _ISO_DATE.match(text)
    if m is None:
        return []
    y, mo, d = m.groups()
    month = _MONTH_ABBR[int(mo) - 1] if 1 <= int(mo) <= 12 else ""
    forms = [text, f"{d}.{mo}.{y}", f"{d}-{mo}-{y}", f"{d}/{mo}/{y}", f"{mo}/{d}/{y}"]
    forms += [f"{int(d)} {month}", f"{month} {int(d)}", f"{d}.{mo}.{y[2:]}"]
    return forms


def _country_names(code: str) -> list[str]:
    return sorted((n for n, c in COUNTRY_NAMES.items() if c == code), key=len, reverse=True)


def _spellings(value: Any, path: str = "") -> list[str]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        number = float(value)
        forms = {f"{number:,.2f}", f"{number:.2f}", f"{number:,.2f}".replace(",", " ")}
        forms.add(f"{number:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."))
        if number.is_integer():
            forms |= {str(int(number)), f"{int(number):,}", f"{int(number):,}".replace(",", ".")}
        else:
            forms.add(f"{number:g}")
            forms.add(f"{number:g}".replace(".", ","))
        return sorted(forms, key=len, reverse=True)
    text = str(value).strip()
    if path.endswith("country") and len(text) == 2:
        return _country_names(text.upper())
    if dates := _date_spellings(text):
        return dates
    return [text] if len(text) >= 2 else []


def _find(spelling: str, pages: list[PageText]) -> tuple[PageText, int] | None:
    pattern = re.compile(r"(?<![\w.,])" + re.escape(spelling) + r"(?![\w])", re.IGNORECASE)
    for page in pages:
        match = pattern.search(page.text)
        if match:
            return page, match.start()
    return None


def _words_for(page: PageText, spelling: str) -> list[dict[str, Any]]:
    tokens = spelling.lower().split()
    if not tokens or not page.words:
        return []
    words = page.words
    for i in range(len(words) - len(tokens) + 1):
        window = words[i : i + len(tokens)]
        if all(
            str(w.get("text", "")).lower().strip(",:;") == t
            for w, t in zip(window, tokens, strict=True)
        ):
            return window
    return []


def _box(words: list[dict[str, Any]]) -> list[float] | None:
    if not words:
        return None
    return [
        min(float(w["x0"]) for w in words),
        min(float(w["y0"]) for w in words),
        max(float(w["x1"]) for w in words),
        max(float(w["y1"]) for w in words),
    ]


def _confidence(page: PageText, words: list[dict[str, Any]]) -> float:
    if page.method != "ocr":
        return FOUND_TEXT_LAYER
    confs = [float(w["conf"]) for w in words if w.get("conf") is not None]
    mean = sum(confs) / len(confs) if confs else (page.confidence or 50.0)
    return round(FOUND_TEXT_LAYER * max(0.0, min(mean, 100.0)) / 100.0, 3)


def locate(
    values: dict[str, Any], pages: list[PageText]
) -> tuple[dict[str, Any], dict[str, float]]:
    """Provenance (page, box, source text) and confidence per dotted field path."""
    provenance: dict[str, Any] = {}
    confidence: dict[str, float] = {}
    for path, value in flat_values(values).items():
        found = None
        for spelling in _spellings(value, path):
            hit = _find(spelling, pages)
            if hit is not None:
                found = (spelling, *hit)
                break
        if found is None:
            confidence[path] = NOT_FOUND
            continue
        spelling, page, start = found
        words = _words_for(page, spelling)
        provenance[path] = {
            "page": page.number,
            "box": _box(words),
            "source_text": page.text[start : start + len(spelling)],
        }
        confidence[path] = _confidence(page, words)
    return provenance, confidence
