"""Tariff candidates computed before the first model request.

A goods line that prints a tariff code the knowledge base does not know (a typo, an OCR
misread, an outdated code) gets the top candidates for its description in the prompt, so
the model can choose one without a ``lookup_tariff`` round-trip. Lines whose codes exist
need nothing.
"""

from __future__ import annotations

import logging
import re

from agent.tools import TariffSource
from core.errors import ShipdocError
from tools.provenance import PageText

log = logging.getLogger(__name__)

_CODE = re.compile(r"(?<![\d.,])(\d{4})[.\s]?(\d{2})(?:[.\s]?(\d{2})(\d{2})?)?(?![\d.,])")
_WORD = re.compile(r"[^\W\d_]{3,}")
MAX_LINES = 8
TOP_K = 3


def _description(line: str) -> str:
    return " ".join(_WORD.findall(line))


def tariff_candidates(
    pages: list[PageText], tariff: TariffSource | None
) -> dict[str, list[tuple[str, str]]]:
    """Description -> [(code, title)] for goods lines whose printed code is unknown."""
    if tariff is None:
        return {}
    out: dict[str, list[tuple[str, str]]] = {}
    for page in pages:
        for line in page.text.splitlines():
            description = _description(line)
            if len(description.split()) < 2 or description in out:
                continue
            for match in _CODE.finditer(line):
                code = "".join(g for g in match.groups() if g)
                if tariff.exists(code):
                    continue
                try:
                    options = tariff.lookup(description, None, TOP_K)
                except ShipdocError as exc:
                    # No candidates is a slower run (the model can still call the tool),
                    # not a failed one.
                    log.warning("tariff candidates skipped: %s", exc)
                    return out
                out[description] = [(o.code, o.title) for o in options]
                break
            if len(out) >= MAX_LINES:
                return out
    return out
