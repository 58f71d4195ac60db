"""The Tesseract command: availability check, one OCR pass (TSV), orientation detection.

Each page image goes to Tesseract as an uncompressed BMP file in RAM (``/dev/shm`` where
there is one). Measured per A4 page at 300 dpi, total CPU of our process plus Tesseract:
BMP file 2.32 s, PNG file 2.43 s, BMP on stdin 2.53 s, PGM on stdin 2.69 s (Tesseract
reads stdin byte by byte, Leptonica reads PNM byte by byte, BMP rows in bulk). Each run
gets ``OMP_THREAD_LIMIT=1``: Tesseract's own threading is slower than one process per
page in parallel.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from core.errors import DependencyMissing
from core.settings import OcrSettings

_DEBIAN_BASE = "tesseract-ocr"
_ROTATE_RE = re.compile(r"^Rotate:\s*(\d+)", re.MULTILINE)
_SHM = Path("/dev/shm")
_verified: set[tuple[str, str]] = set()
_verify_lock = threading.Lock()


class PageFailure(Exception):
    """One page could not be read; the rest of the document goes on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class TsvWord:
    """One recognised word in pixels of the image Tesseract was given."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    conf: float
    line: tuple[int, int, int]  # (block, paragraph, line)


def debian_packages(languages: str) -> str:
    langs = [lang for lang in languages.split("+") if lang]
    return " ".join([_DEBIAN_BASE, *(f"{_DEBIAN_BASE}-{lang}" for lang in [*langs, "osd"])])


def install_hint(languages: str) -> str:
    return f"install the Debian packages: apt-get install {debian_packages(languages)}"


def ensure_available(settings: OcrSettings) -> None:
    """Raise ``DependencyMissing`` unless the command and every language are installed."""
    key = (settings.tesseract_cmd, settings.languages)
    with _verify_lock:
        if key in _verified:
            return
        install = install_hint(settings.languages)
        if shutil.which(settings.tesseract_cmd) is None:
            raise DependencyMissing(
                f"Tesseract OCR ({settings.tesseract_cmd!r}) is not installed; {install}"
            )
        try:
            proc = subprocess.run(
                [settings.tesseract_cmd, "--list-langs"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DependencyMissing(
                f"Tesseract OCR ({settings.tesseract_cmd!r}) cannot be run ({exc}); {install}"
            ) from exc
        installed = set(proc.stdout.split()) | set(proc.stderr.split())
        wanted = [*settings.languages.split("+"), "osd"]
        missing = [lang for lang in wanted if lang and lang not in installed]
        if missing:
            raise DependencyMissing(
                f"Tesseract language data missing: {', '.join(missing)}; {install}"
            )
        _verified.add(key)


def _scratch_dir() -> str | None:
    return str(_SHM) if _SHM.is_dir() and os.access(_SHM, os.W_OK) else None


def _run(settings: OcrSettings, image: Image.Image, args: list[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="shipdoc-ocr-", dir=_scratch_dir()) as tmp:
        path = os.path.join(tmp, "page.bmp")
        try:
            image.save(path, format="BMP")
        except OSError as exc:
            raise PageFailure("ocr_failed", f"cannot write the page image for OCR: {exc}") from exc
        return _tesseract(settings, [path, "stdout", *args])


def _tesseract(settings: OcrSettings, args: list[str]) -> str:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    try:
        proc = subprocess.run(
            [settings.tesseract_cmd, *args],
            capture_output=True,
            env=env,
            timeout=settings.timeout_s,
            check=False,
        )
    except FileNotFoundError as exc:
        raise DependencyMissing(
            f"Tesseract OCR ({settings.tesseract_cmd!r}) is not installed; "
            f"{install_hint(settings.languages)}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise PageFailure(
            "ocr_timeout", f"OCR took longer than {settings.timeout_s:g} s on this page"
        ) from exc
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        if "Failed loading language" in stderr:
            raise DependencyMissing(
                f"Tesseract language data missing ({stderr.strip().splitlines()[0]}); "
                f"{install_hint(settings.languages)}"
            )
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {proc.returncode}"
        raise PageFailure("ocr_failed", f"Tesseract failed on this page: {last}")
    return proc.stdout.decode("utf-8", "replace")


def recognise(
    settings: OcrSettings, image: Image.Image, dpi: int | None, psm: int | None = None
) -> list[TsvWord]:
    """One OCR pass; words with boxes in pixels of ``image``. ``psm``: Tesseract's page
    segmentation mode (None: its default, 3)."""
    args = ["-l", settings.languages]
    if dpi:
        args += ["--dpi", str(dpi)]
    if psm is not None:
        args += ["--psm", str(psm)]
    return parse_tsv(_run(settings, image, [*args, "tsv"]))


def detect_rotation(settings: OcrSettings, image: Image.Image) -> int:
    """Degrees clockwise the image must be turned to read upright (0 when unsure)."""
    try:
        out = _run(settings, image, ["--psm", "0"])
    except PageFailure:
        # Too few characters for orientation detection: treat as upright.
        return 0
    match = _ROTATE_RE.search(out)
    return int(match.group(1)) % 360 if match else 0


def parse_tsv(tsv: str) -> list[TsvWord]:
    words: list[TsvWord] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        if not text:
            continue
        left, top, width, height = (float(c) for c in cols[6:10])
        words.append(
            TsvWord(
                text=text,
                x0=left,
                y0=top,
                x1=left + width,
                y1=top + height,
                conf=float(cols[10]),
                line=(int(cols[2]), int(cols[3]), int(cols[4])),
            )
        )
    return words
