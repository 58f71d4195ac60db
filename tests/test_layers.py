"""The folder tree is the architecture: imports point down the layers of DESIGN.md."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# package -> the packages of ours it may import (itself always allowed)
ALLOWED: dict[str, set[str]] = {
    "core": {"migrations"},
    "kb": {"core"},
    "tools": {"kb", "core"},
    "agent": {"tools", "kb", "core"},
    "evals": {"agent", "tools", "kb", "core"},
    "workers": {"agent", "tools", "kb", "core"},
    "app": {"workers", "evals", "agent", "tools", "kb", "core", "migrations"},
    "migrations": {"core"},
}
OURS = set(ALLOWED)


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


def test_imports_point_down_the_layers() -> None:
    violations = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for imported in _imported_packages(path) - allowed - {package}:
                violations.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not violations, "layer violations:\n" + "\n".join(violations)
