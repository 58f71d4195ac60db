"""Prompt templates: found as a package (checkout or wheel); a missing one stops start-up."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import prompting
from core.errors import ConfigurationError


@pytest.fixture
def prompts_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "prompts"
    shutil.copytree(prompting.prompts_dir(), folder)
    monkeypatch.setattr(prompting, "prompts_dir", lambda: folder)
    prompting.template.cache_clear()
    prompting.prompt_version.cache_clear()
    yield folder
    prompting.template.cache_clear()
    prompting.prompt_version.cache_clear()


def test_every_template_is_in_the_prompts_package() -> None:
    for name in prompting.TEMPLATES:
        assert (prompting.prompts_dir() / f"{name}.txt").is_file(), name
    assert (prompting.prompts_dir() / "__init__.py").is_file()


def test_version_is_a_hash_of_the_templates(prompts_copy: Path) -> None:
    before = prompting.prompt_version()
    (prompts_copy / "repair.txt").write_text("Fix it.\n", encoding="utf-8")
    prompting.template.cache_clear()
    prompting.prompt_version.cache_clear()
    assert prompting.prompt_version() != before


@pytest.mark.parametrize("damage", ["missing", "empty"])
def test_a_missing_or_empty_template_is_an_error_not_an_empty_hash(
    prompts_copy: Path, damage: str
) -> None:
    path = prompts_copy / "extract_system.txt"
    if damage == "missing":
        path.unlink()
    else:
        path.write_text("  \n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=f"extract_system.txt is {damage}"):
        prompting.prompt_version()
