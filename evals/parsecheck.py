"""Does the parser's text hold the ground truth? Value presence and word recall.

Every value of a generated document carries the exact text it was printed as
(``provenance.source_text``). A text-layer PDF must yield all of them; a scan is measured
by word recall: the share of the printed values' words that OCR returned.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from pydantic import BaseModel

from core.records import FieldValue, FileRecords

_TOKEN = re.compile(r"\w+")


def squash(text: str) -> str:
    """Text compared without case, whitespace or ligatures."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def source_texts(truth: FileRecords) -> list[str]:
    """The printed text of every value in the file (fields, line items, containers)."""
    out: list[str] = []
    for doc in truth.documents:
        values: list[FieldValue] = list(doc.fields.values())
        for row in doc.line_items + doc.containers:
            values += list(row.values())
        for v in values:
            if v.provenance is not None and v.provenance.source_text:
                out.append(v.provenance.source_text)
    return out


class TextCheck(BaseModel):
    file: str
    values: int
    values_found: int
    words: int
    words_found: int
    missing: list[str]

    @property
    def value_recall(self) -> float:
        return self.values_found / self.values if self.values else 1.0

    @property
    def word_recall(self) -> float:
        return self.words_found / self.words if self.words else 1.0


def check_text(truth: FileRecords, text: str) -> TextCheck:
    """How much of the ground truth's printed text ``text`` holds."""
    haystack = squash(text)
    texts = source_texts(truth)
    missing = [t for t in texts if squash(t) not in haystack]
    want: Counter[str] = Counter(w for t in texts for w in tokens(t))
    have = Counter(tokens(text))
    found = sum(min(n, have[w]) for w, n in want.items())
    return TextCheck(
        file=truth.file,
        values=len(texts),
        values_found=len(texts) - len(missing),
        words=sum(want.values()),
        words_found=found,
        missing=missing,
    )
