"""OCR quality on scans with ground truth: word recall, whole values, key fields, speed.

Each file goes through the real parser (``tools.parse.parse_bytes``) and its text is held
against the ground truth with ``evals.parsecheck.check_text``. The key fields are what the
issue's receipt check counted on real receipts: is the printed total, the date and the
company name in the OCR text at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel

from core.records import FileRecords
from core.settings import OcrSettings, get_settings
from evals.corpus import GroundTruth
from evals.degrade import profile_of
from evals.goldenset import materialise
from evals.parsecheck import TextCheck, check_text, squash
from evals.split import SPLIT_FILE, load_split
from tools.parse import parse_bytes

# The receipt check's three values, per document type (the first field a type has).
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "total": ("total", "total_customs_value", "total_gross_weight_kg"),
    "date": ("invoice_date", "date", "date_of_issue", "declaration_date"),
    "company": ("seller.name", "shipper.name", "declarant.name"),
}
KEYS = tuple(KEY_FIELDS)


class FileOcr(BaseModel):
    file: str
    part: str
    profile: str  # the degradation profile ("" for plain scans)
    pages: int
    seconds: float
    check: TextCheck
    # key -> printed text found in the OCR text (absent: the type has no such field)
    keys: dict[str, bool]


class OcrSummary(BaseModel):
    files: int
    pages: int
    words: int
    words_found: int
    values: int
    values_found: int
    keys: dict[str, tuple[int, int]]  # key -> (found, present in the ground truth)
    seconds: float

    @property
    def word_recall(self) -> float:
        return self.words_found / self.words if self.words else 1.0

    @property
    def value_recall(self) -> float:
        return self.values_found / self.values if self.values else 1.0

    @property
    def seconds_per_page(self) -> float:
        return self.seconds / self.pages if self.pages else 0.0


def key_texts(truth: FileRecords) -> dict[str, list[str]]:
    """The printed text of the total, the date and the company name of each document."""
    out: dict[str, list[str]] = {}
    for doc in truth.documents:
        for key, names in KEY_FIELDS.items():
            for name in names:
                value = doc.fields.get(name)
                if value is not None and value.provenance and value.provenance.source_text:
                    out.setdefault(key, []).append(value.provenance.source_text)
                    break
    return out


def check_file(path: Path, truth: GroundTruth, part: str, ocr: OcrSettings) -> FileOcr:
    started = time.perf_counter()
    parsed = parse_bytes(path.read_bytes(), ocr=ocr)
    seconds = time.perf_counter() - started
    haystack = squash(parsed.text)
    keys = {k: all(squash(t) in haystack for t in ts) for k, ts in key_texts(truth).items()}
    return FileOcr(
        file=truth.file,
        part=part,
        profile=profile_of(truth),
        pages=parsed.page_count,
        seconds=round(seconds, 3),
        check=check_text(truth, parsed.text),
        keys=keys,
    )


def check_files(
    items: Iterable[tuple[Path, GroundTruth, str]],
    *,
    preprocess: bool = True,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
) -> list[FileOcr]:
    """Parse each (file, truth, part), ``jobs`` files at a time, one OCR worker each."""
    ocr = get_settings().ocr.model_copy(update={"workers": 1, "preprocess": preprocess})

    def one(item: tuple[Path, GroundTruth, str]) -> FileOcr:
        path, truth, part = item
        result = check_file(path, truth, part, ocr)
        if progress is not None:
            progress(truth.id)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, items))


def summarise(results: list[FileOcr]) -> OcrSummary:
    keys: dict[str, tuple[int, int]] = {}
    for key in KEYS:
        have = [r.keys[key] for r in results if key in r.keys]
        keys[key] = (sum(have), len(have))
    return OcrSummary(
        files=len(results),
        pages=sum(r.pages for r in results),
        words=sum(r.check.words for r in results),
        words_found=sum(r.check.words_found for r in results),
        values=sum(r.check.values for r in results),
        values_found=sum(r.check.values_found for r in results),
        keys=keys,
        seconds=round(sum(r.seconds for r in results), 2),
    )


def load_items(folder: Path, split_file: Path) -> list[tuple[Path, GroundTruth, str]]:
    """The (file, truth, part) of every ground truth in ``folder``; part from the split."""
    split = load_split(split_file) if split_file.is_file() else {"dev": [], "test": []}
    parts = {file_id: part for part, ids in split.items() for file_id in ids}
    items = []
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("_") or path.name == "split.json":
            continue
        truth = GroundTruth.model_validate_json(path.read_bytes())
        items.append((folder / truth.file, truth, parts.get(truth.id, "")))
    return items


def golden_scans(out_dir: Path) -> list[tuple[Path, GroundTruth, str]]:
    """The golden set's scans rebuilt into ``out_dir`` (GoldenDrift if they drifted)."""
    materialise(out_dir, only=lambda truth: truth.spec.scan is not None)
    return load_items(out_dir, SPLIT_FILE)
