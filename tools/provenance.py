"""Per-field provenance and confidence: where on which page a value was read.

A value found verbatim in a page's text gets that page, the source text and the box of the
words it spans, and a ``Source`` saying so (text layer or OCR, with the OCR confidence of
those words). A value not found verbatim (a normalized code, a computed number, a guess)
gets no provenance; tools/confidence turns the source into a confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, Field

from tools.validate_codes import COUNTRY_NAMES


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


def _number_spellings(number: float) -> set[str]:
    """``1234.5`` as printed with 0-3 decimals in the usual conventions: ``1,234.50``,
    ``1.234,5``, ``1 234,50``, ``1234.5``."""
    forms: set[str] = set()
    for decimals in range(4):
        rounded = round(number, decimals)
        if abs(rounded - number) > 1e-9:
            continue
        en = f"{number:,.{decimals}f}"
        de = en.replace(",", "X").replace(".", ",").replace("X", ".")
        forms |= {en, de, en.replace(",", " "), de.replace(".", " "), en.replace(",", "")}
        forms.add(de.replace(".", ""))
    return forms


def _code_spellings(code: str) -> list[str]:
    """A tariff code as printed with dots or spaces: ``9401.80.00``, ``7010.90``."""
    if not code.isdigit() or len(code) < 6:
        return [code]
    parts = [code[:4], code[4:6], *[code[i : i + 2] for i in range(6, len(code), 2)]]
    forms = [code]
    for cut in range(2, len(parts) + 1):
        head, rest = parts[:cut], "".join(parts[cut:])
        if rest.strip("0"):
            continue  # the printed code may stop early only where only zeros are left
        forms += [".".join(head), " ".join(head)]
    return sorted(set(forms), key=len, reverse=True)


def _spellings(value: Any, path: str = "") -> list[str]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return sorted(_number_spellings(float(value)), key=len, reverse=True)
    text = str(value).strip()
    if path.endswith("country") and len(text) == 2:
        return [*_country_names(text.upper()), text.upper()]
    if path.endswith(("hs_code", "commodity_code")):
        return _code_spellings(text)
    if dates := _date_spellings(text):
        return dates
    return [text] if len(text) >= 2 else []


def _pattern(spelling: str, flexible: bool) -> re.Pattern[str]:
    """The spelling as a pattern; ``flexible``: its words may be split by line breaks or
    commas (an address printed over several lines)."""
    tokens = [t for t in re.split(r"[\s,]+", spelling) if t] if flexible else [spelling]
    body = r"[\s,]+".join(re.escape(t) for t in tokens)
    # A short code ("IT", "DE", "EUR") is matched in its own case: "it" is a word.
    flags = 0 if len(spelling) <= 3 and spelling.isupper() else re.IGNORECASE
    return re.compile(r"(?<![\w.,])" + body + r"(?![\w])", flags)


def _find(spelling: str, pages: list[PageText], flexible: bool) -> tuple[PageText, int, int] | None:
    pattern = _pattern(spelling, flexible)
    for page in pages:
        match = pattern.search(page.text)
        if match:
            return page, match.start(), match.end()
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


@dataclass(frozen=True)
class Source:
    """Where a value was found in the text: the first thing its confidence rests on."""

    printed: bool  # found verbatim (in one of its usual spellings) on a page
    method: str = "text"  # the page's: "text" (a text layer) or "ocr"
    boxed: bool = False  # its words, and so its box, were found
    ocr_conf: float | None = None  # mean OCR confidence (0-100) of those words, on a scan
    # A table row's value printed in the same row as the row's anchor (its description,
    # its container number); None for fields outside a table or a row without an anchor.
    aligned: bool | None = None


def _source(page: PageText, words: list[dict[str, Any]]) -> Source:
    if page.method != "ocr":
        return Source(printed=True, method=page.method, boxed=bool(words))
    confs = [float(w["conf"]) for w in words if w.get("conf") is not None]
    mean = sum(confs) / len(confs) if confs else page.confidence
    conf = None if mean is None else round(max(0.0, min(mean, 100.0)), 1)
    return Source(printed=True, method="ocr", boxed=bool(words), ocr_conf=conf)


_ROW_PATH = re.compile(r"^((?:line_items|containers)\[\d+\])\.(.+)$")
_ANCHORS = {"line_items": "description", "containers": "number"}


def _spans(page: PageText, spelling: str, flexible: bool) -> list[tuple[float, float]]:
    """The vertical extent of every place ``spelling`` is printed on the page: word boxes
    where there are words, else text line numbers."""
    tokens = spelling.lower().split()
    words = page.words
    if words and tokens:
        out = []
        for i in range(len(words) - len(tokens) + 1):
            window = words[i : i + len(tokens)]
            if all(
                str(w.get("text", "")).lower().strip(",:;") == t
                for w, t in zip(window, tokens, strict=True)
            ):
                out.append((float(window[0]["y0"]), float(window[0]["y1"])))
        if out:
            return out
    pattern = _pattern(spelling, flexible)
    lines = page.text.splitlines()
    return [(float(n), n + 0.9) for n, line in enumerate(lines) if pattern.search(line)]


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return shared > 0.3 * max(1e-6, min(a[1] - a[0], b[1] - b[0]))


def _aligned(page: PageText, value: tuple[str, bool], anchor: tuple[str, bool]) -> bool:
    first = " ".join(anchor[0].split()[:3])  # a description may wrap: its first words
    anchors = _spans(page, first, anchor[1])
    return any(_overlap(v, a) for v in _spans(page, *value) for a in anchors)


def locate(
    values: dict[str, Any], pages: list[PageText]
) -> tuple[dict[str, Any], dict[str, Source]]:
    """Provenance (page, box, source text) and where it was found, per dotted field path."""
    provenance: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    found_as: dict[str, tuple[str, bool, PageText]] = {}
    for path, value in flat_values(values).items():
        found = None
        flexible = isinstance(value, str)
        for spelling in _spellings(value, path):
            hit = _find(spelling, pages, flexible)
            if hit is not None:
                found = (spelling, *hit)
                break
        if found is None:
            sources[path] = Source(printed=False)
            continue
        spelling, page, start, end = found
        found_as[path] = (spelling, flexible, page)
        words = _words_for(page, spelling)
        provenance[path] = {
            "page": page.number,
            "box": _box(words),
            "source_text": page.text[start:end],
        }
        sources[path] = _source(page, words)
    for path, (spelling, flexible, page) in found_as.items():
        row = _ROW_PATH.match(path)
        if row is None:
            continue
        anchor_path = f"{row.group(1)}.{_ANCHORS[row.group(1).split('[')[0]]}"
        anchor = found_as.get(anchor_path)
        if anchor_path == path or anchor is None or anchor[2] is not page:
            continue
        aligned = _aligned(page, (spelling, flexible), (anchor[0], anchor[1]))
        sources[path] = replace(sources[path], aligned=aligned)
    return provenance, sources
