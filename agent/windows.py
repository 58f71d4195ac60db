"""Long documents: split a page group into windows that fit one request, merge the results.

A window is a run of consecutive pages whose estimated tokens fit the budget; a single page
over the budget is cut at line breaks. Merging keeps the first value of each header field,
concatenates line items and containers, and joins the last line item of one window with
the first of the next when they are two halves of one row cut by a page break.
"""

from __future__ import annotations

from typing import Any

from agent.prompting import page_text
from core.records import overlay
from tools.provenance import PageText

CHARS_PER_TOKEN = 3.5


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def _cut_page(page: PageText, budget: int) -> list[PageText]:
    """``page`` cut at line breaks of the text the model reads; the pieces keep no word
    boxes, so each renders as its own lines (``agent.prompting.page_text``)."""
    lines = page_text(page).splitlines()
    pieces: list[list[str]] = [[]]
    size = 0
    for line in lines:
        cost = estimate_tokens(line)
        if pieces[-1] and size + cost > budget:
            pieces.append([])
            size = 0
        pieces[-1].append(line)
        size += cost
    return [page.model_copy(update={"text": "\n".join(p), "words": []}) for p in pieces]


def plan_windows(pages: list[PageText], budget: int) -> list[list[PageText]]:
    """Consecutive pages per window, none over ``budget`` estimated tokens (unless one line is)."""
    windows: list[list[PageText]] = []
    size = 0
    for page in pages:
        parts = _cut_page(page, budget) if estimate_tokens(page_text(page)) > budget else [page]
        for part in parts:
            cost = estimate_tokens(page_text(part))
            if not windows or size + cost > budget:
                windows.append([])
                size = 0
            windows[-1].append(part)
            size += cost
    return windows


def halve(window: list[PageText]) -> list[list[PageText]] | None:
    """Two smaller windows, or None when the window is a single short line."""
    if len(window) > 1:
        mid = len(window) // 2
        return [window[:mid], window[mid:]]
    parts = _cut_page(window[0], max(1, estimate_tokens(page_text(window[0])) // 2))
    if len(parts) < 2:
        return None
    mid = len(parts) // 2
    return [parts[:mid], parts[mid:]]


def _halves(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two rows that complement each other without conflict: one row cut by a page break."""
    a_keys = {k for k, v in a.items() if v not in (None, "")}
    b_keys = {k for k, v in b.items() if v not in (None, "")}
    if not a_keys or not b_keys or a_keys >= b_keys or b_keys >= a_keys:
        return False
    return all(a[k] == b[k] for k in a_keys & b_keys)


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    lines: list[dict[str, Any]] = []
    containers: list[dict[str, Any]] = []
    for part in parts:
        header = {k: v for k, v in part.items() if k not in ("line_items", "containers")}
        merged = overlay(header, merged) if merged else header
        new_lines = list(part.get("line_items") or [])
        if lines and new_lines and _halves(lines[-1], new_lines[0]):
            lines[-1] = overlay(new_lines.pop(0), lines[-1])
        lines += new_lines
        seen = {c.get("number") for c in containers}
        containers += [c for c in part.get("containers") or [] if c.get("number") not in seen]
    merged["line_items"] = lines
    if any("containers" in p for p in parts):
        merged["containers"] = containers
    return merged
