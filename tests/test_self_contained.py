"""The repository stands alone: no code reads a path outside the checkout (or the package).

Two checks. A static one over every Python file of the product, the tests and the
benchmarks: no path built from ``__file__`` climbs above the repository root, and no string
names a parent directory (``..``) or a sibling folder such as ``shared/data``. A behavioural
one: the reference-data readers (demo documents, the eval corpus, the knowledge-base
corpora, the retrieval baseline) run in a fresh interpreter from a temporary directory
with an audit hook that records every file opened; none lies beside the repository.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("core", "kb", "tools", "agent", "evals", "workers", "app", "migrations")
CODE_DIRS += ("tests", "bench")
BUILD_FILES = ("Makefile", "compose.yaml", "pyproject.toml", ".ci/run")
FORBIDDEN_TEXT = ("../", "..\\", "shared/data", "/work/")
# Hostile inputs are data sent to the product (e.g. an upload named ../../etc/passwd.pdf),
# never paths read by the code: exempt from the text check, not from the __file__ check.
HOSTILE_INPUTS = ("tests/hostile/",)


def _python_files() -> list[Path]:
    files = [p for d in CODE_DIRS for p in sorted((ROOT / d).rglob("*.py"))]
    assert len(files) > 100, "the scan found too few files: wrong ROOT?"
    return files


def _levels_up(node: ast.expr) -> int | None:
    """How many directories above ``__file__``'s own file an expression climbs, or None
    when it is not a path built from ``__file__``."""
    if isinstance(node, ast.Name) and node.id == "__file__":
        return 0
    if isinstance(node, ast.Call):
        func = node.func
        # Path(__file__), os.path.dirname(...), os.path.abspath(...)
        if node.args and (
            (isinstance(func, ast.Name) and func.id == "Path")
            or (isinstance(func, ast.Attribute) and func.attr in ("abspath", "realpath"))
        ):
            return _levels_up(node.args[0])
        if isinstance(func, ast.Attribute) and func.attr == "dirname" and node.args:
            inner = _levels_up(node.args[0])
            return None if inner is None else inner + 1
        # .resolve(), .absolute()
        if isinstance(func, ast.Attribute) and func.attr in ("resolve", "absolute"):
            return _levels_up(func.value)
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        inner = _levels_up(node.value)
        return None if inner is None else inner + 1
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "parents"
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, int)
    ):
        inner = _levels_up(node.value.value)
        return None if inner is None else inner + node.slice.value + 1
    return None


def _escapes(path: Path) -> list[str]:
    depth = len(path.relative_to(ROOT).parts)  # levels from the file up to ROOT (file itself = 1)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    hostile = path.relative_to(ROOT).as_posix().startswith(HOSTILE_INPUTS)
    found = []
    for node in ast.walk(tree):
        levels = _levels_up(node) if isinstance(node, ast.expr) else None
        if levels is not None and levels > depth:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} climbs {levels} levels")
        text = node.value if isinstance(node, ast.Constant) and not hostile else None
        if isinstance(text, str) and (text == ".." or any(t in text for t in FORBIDDEN_TEXT)):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} names {text!r}")
    return found


def test_levels_up_reads_path_expressions() -> None:
    def levels(src: str) -> int | None:
        return _levels_up(ast.parse(src, mode="eval").body)

    assert levels("Path(__file__).resolve().parents[1].parent") == 3
    assert levels("Path(__file__).parent.parent") == 2
    assert levels("os.path.dirname(os.path.dirname(os.path.abspath(__file__)))") == 2
    assert levels("Path(other).parent") is None


def test_no_code_refers_to_a_path_outside_the_repository() -> None:
    this = Path(__file__).resolve()
    violations = [v for p in _python_files() if p != this for v in _escapes(p)]
    assert not violations, "paths outside the repository:\n" + "\n".join(violations)


def test_build_files_stay_inside_the_repository() -> None:
    for name in BUILD_FILES:
        text = (ROOT / name).read_text(encoding="utf-8")
        for token in FORBIDDEN_TEXT:
            assert token not in text, f"{name} names {token!r}"


_PROBE = """
import json, os, sys
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.append(os.path.abspath(os.fsdecode(args[0])))
sys.addaudithook(hook)
from pathlib import Path
from core.settings import get_settings
from evals.corpus import demo_documents
from evals.retrieval import hs6_descriptions, keyword_lookup
from kb.ingest import load_chunks
from tools.tariff import hs_code_exists
settings = get_settings()
demo_documents(Path("demo"))
assert len(hs6_descriptions()) > 5000
keyword_lookup()("frozen shrimps")
assert hs_code_exists("030617", settings=settings)
for corpus in ("hs2022", "cn2026", "docs"):
    assert load_chunks(settings, corpus), corpus
print(json.dumps(opened))
"""


def test_reference_data_is_read_from_inside_the_package(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPDOC_")}
    env["PYTHONPATH"] = str(ROOT)
    env["SHIPDOC_VAR_DIR"] = str(tmp_path / "var")
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    opened = {Path(p) for p in json.loads(done.stdout.splitlines()[-1])}
    data = ROOT / "kb" / "data"
    assert any(p.is_relative_to(data) for p in opened), "kb/data was not read"
    beside = [
        p
        for p in opened
        if p.is_relative_to(ROOT.parent)
        and not p.is_relative_to(ROOT)
        and not p.is_relative_to(tmp_path)
        and not p.is_relative_to(Path(sys.prefix))
        and not p.is_relative_to(Path(sys.base_prefix))
    ]
    assert not beside, f"read beside the repository: {sorted(map(str, beside))}"
