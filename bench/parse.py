"""Parser throughput against its references, measured in the same run.

    .venv/bin/python bench/parse.py [--text-pages 200] [--ocr-pages 4]

1. Text layer: pages/s through ``parse_bytes`` vs PyMuPDF alone (``page.get_text("words")``)
   on the same generated A4 PDF. Target ratio >= 0.8.
2. OCR: seconds per page through ``parse_bytes`` (render + Tesseract + boxes) vs the bare
   ``tesseract`` command on the same 300-dpi page images (PNG files, same languages,
   ``OMP_THREAD_LIMIT=1``). Target ratio <= 1.1. The same with preprocessing off: what
   measuring a clean page costs. Then workers=1 vs workers=2 (target >= 1.7x).
3. Low resolution: 150-dpi A4 pages turned 1.5 degrees, bare ``tesseract`` on the images
   vs ``parse_bytes`` (preprocessing upscales and deskews them): time and word recall.

Each figure is the best of several runs, as wall time and as CPU time (this process plus
its children); on a shared machine the CPU ratios are the steadier comparison.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pymupdf  # noqa: E402
from PIL import Image  # noqa: E402

from core.settings import Limits, OcrSettings  # noqa: E402
from tests import factories  # noqa: E402
from tools.parse import ParsedDocument, parse_bytes  # noqa: E402
from tools.parse.tesseract import parse_tsv  # noqa: E402

_OPEN: Any = pymupdf.open


def measure(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (this process plus its finished children)."""
    before = os.times()
    start = time.perf_counter()
    fn()
    wall = time.perf_counter() - start
    after = os.times()
    cpu = sum(after[:4]) - sum(before[:4])
    return wall, cpu


def best(runs: int, fn: Callable[[], object]) -> tuple[float, float]:
    results = [measure(fn) for _ in range(runs)]
    return min(r[0] for r in results), min(r[1] for r in results)


def text_layer(pages: int) -> list[tuple[str, str, str]]:
    lines = factories.full_page_lines(seed=1)
    data = factories.text_pdf(pages=pages, lines=lines, size=factories.A4)
    limits = Limits(max_pages=pages)

    def pymupdf_alone() -> None:
        doc = _OPEN(stream=data, filetype="pdf")
        for page in doc:
            page.get_text("words")
        doc.close()

    def ours() -> None:
        parse_bytes(data, limits=limits)

    pymupdf_alone()  # warm up both paths once
    ours()
    ref_wall, ref_cpu = best(5, pymupdf_alone)
    got_wall, got_cpu = best(5, ours)
    words = len(parse_bytes(data, limits=limits).pages[0].words)

    def rate(wall: float, cpu: float) -> str:
        return f"{pages / wall:,.0f} ({pages / cpu:,.0f} cpu)"

    return [
        (f"text layer PyMuPDF get_text('words'), {words} words/page", rate(ref_wall, ref_cpu), ""),
        (
            "text layer parse_bytes (pages/s)",
            rate(got_wall, got_cpu),
            f"wall ratio {ref_wall / got_wall:.2f}, cpu ratio {ref_cpu / got_cpu:.2f} (>= 0.8)",
        ),
    ]


def _recall(doc: ParsedDocument, expected: list[tuple[str, ...]]) -> float:
    want = [w for lines in expected for line in lines for w in line.split()]
    got = {w.text for p in doc.pages for w in p.words}
    return sum(w in got for w in want) / len(want)


def ocr(pages: int, runs: int) -> list[tuple[str, str, str]]:
    settings = OcrSettings()
    page_lines = [factories.full_page_lines(seed=10 + i) for i in range(pages)]
    images = [factories.page_image(lines, size=factories.A4) for lines in page_lines]
    data = factories.scans_pdf(images)
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    dpi = str(factories.SCAN_DPI)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, image in enumerate(images):
            path = Path(tmp) / f"page{i}.png"
            image.save(path, dpi=(factories.SCAN_DPI, factories.SCAN_DPI))
            files.append(path)

        def bare_one(path: Path) -> None:
            cmd = [settings.tesseract_cmd, str(path), "stdout", "-l", settings.languages]
            subprocess.run([*cmd, "--dpi", dpi, "tsv"], env=env, check=True, capture_output=True)

        def bare() -> None:
            for path in files:
                bare_one(path)

        def bare_two_at_a_time() -> None:
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(bare_one, files))

        bare_wall, bare_cpu = best(runs, bare)
        bare2_wall, bare2_cpu = best(runs, bare_two_at_a_time)
    results: dict[int, ParsedDocument] = {}

    def ours(workers: int) -> Callable[[], None]:
        def run() -> None:
            results[workers] = parse_bytes(data, ocr=OcrSettings(workers=workers))

        return run

    def bare_ocr(workers: int) -> Callable[[], None]:
        off = OcrSettings(workers=workers, preprocess=False)

        def run() -> None:
            parse_bytes(data, ocr=off)

        return run

    one_wall, one_cpu = best(runs, ours(1))
    off_wall, off_cpu = best(runs, bare_ocr(1))
    two_wall, two_cpu = best(runs, ours(2))
    size = f"{images[0].width}x{images[0].height}"
    recall = _recall(results[1], page_lines)

    def per_page(wall: float, cpu: float) -> str:
        return f"{wall / pages:.2f} s ({cpu / pages:.2f} cpu)"

    return [
        (f"OCR bare tesseract, {pages} A4 pages {size} px", per_page(bare_wall, bare_cpu), ""),
        (
            "OCR parse_bytes workers=1",
            per_page(one_wall, one_cpu),
            f"wall ratio {one_wall / bare_wall:.2f}, cpu ratio {one_cpu / bare_cpu:.2f} (<= 1.1)"
            f"; recall {recall:.1%}",
        ),
        (
            "OCR parse_bytes workers=1, preprocess off",
            per_page(off_wall, off_cpu),
            f"measuring a clean page costs {one_cpu / off_cpu - 1:+.1%} cpu "
            f"({one_wall / off_wall - 1:+.1%} wall); the page goes to Tesseract unchanged",
        ),
        (
            "OCR parse_bytes workers=2",
            per_page(two_wall, two_cpu),
            f"speed-up {one_wall / two_wall:.2f}x over workers=1 (>= 1.7x)",
        ),
        (
            "OCR bare tesseract, 2 processes at a time",
            per_page(bare2_wall, bare2_cpu),
            f"speed-up {bare_wall / bare2_wall:.2f}x: what this machine allows right now",
        ),
    ]


def low_resolution(pages: int, runs: int) -> list[tuple[str, str, str]]:
    """150-dpi pages turned 1.5 degrees: bare Tesseract on the image as it is vs parse_bytes
    with preprocessing (measure, upscale, deskew), time and word recall."""
    settings = OcrSettings(workers=1)
    page_lines = [factories.full_page_lines(seed=20 + i) for i in range(pages)]
    images = [
        factories.page_image(lines, dpi=150, size=factories.A4).rotate(
            1.5, Image.Resampling.BICUBIC, expand=True, fillcolor=255
        )
        for lines in page_lines
    ]
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    found: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, image in enumerate(images):
            path = Path(tmp) / f"page{i}.png"
            image.save(path, dpi=(150, 150))
            files.append(path)

        def bare() -> None:
            words = []
            for path in files:
                cmd = [settings.tesseract_cmd, str(path), "stdout", "-l", settings.languages]
                out = subprocess.run(
                    [*cmd, "--dpi", "150", "tsv"], env=env, check=True, capture_output=True
                )
                words += [w.text for w in parse_tsv(out.stdout.decode("utf-8", "replace"))]
            found["bare"] = words

        def ours() -> None:
            words = []
            for path in files:
                doc = parse_bytes(path.read_bytes(), ocr=settings)
                words += [w.text for p in doc.pages for w in p.words]
            found["ours"] = words

        bare_wall, bare_cpu = best(runs, bare)
        our_wall, our_cpu = best(runs, ours)
    want = [w for lines in page_lines for line in lines for w in line.split()]

    def recall(words: list[str]) -> str:
        have = set(words)
        return f"recall {sum(w in have for w in want) / len(want):.1%}"

    def per_page(wall: float, cpu: float) -> str:
        return f"{wall / pages:.2f} s ({cpu / pages:.2f} cpu)"

    return [
        (
            f"OCR bare tesseract, {pages} A4 pages at 150 dpi turned 1.5 deg",
            per_page(bare_wall, bare_cpu),
            recall(found["bare"]),
        ),
        (
            "OCR parse_bytes preprocessed (upscaled, deskewed)",
            per_page(our_wall, our_cpu),
            f"wall ratio {our_wall / bare_wall:.2f}, cpu ratio {our_cpu / bare_cpu:.2f}; "
            + recall(found["ours"]),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--text-pages", type=int, default=200)
    parser.add_argument("--ocr-pages", type=int, default=4)
    parser.add_argument("--ocr-runs", type=int, default=2)
    args = parser.parse_args()
    rows = (
        text_layer(args.text_pages)
        + ocr(args.ocr_pages, args.ocr_runs)
        + low_resolution(args.ocr_pages, args.ocr_runs)
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'figure (per page)':>22}  vs reference (target)")
    for name, figure, note in rows:
        print(f"{name:<{width}}  {figure:>22}  {note}")
    print(f"cores: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
