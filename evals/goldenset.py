"""The committed golden corpus: ground truth in git, binaries rebuilt from it on demand.

Each committed ``golden/corpus/<id>.json`` holds the full ``ItemSpec`` it was made from,
so ``materialise(out_dir)`` rebuilds every file byte for byte and refuses to go on if a
rebuilt ground truth no longer matches the committed one (the generator drifted: rerun
``python -m evals.goldenset`` and review the diff).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from evals.corpus import GroundTruth, build_item, generate_corpus, write_item

GOLDEN_SEED = 2026
GOLDEN_N = 128
GOLDEN_CORPUS = Path(__file__).resolve().parent / "golden" / "corpus"


class GoldenDrift(RuntimeError):
    """The generator no longer reproduces the committed ground truth."""


def load_golden_truth(folder: Path = GOLDEN_CORPUS) -> list[GroundTruth]:
    return [
        GroundTruth.model_validate_json(p.read_bytes())
        for p in sorted(folder.glob("*.json"))
        if not p.name.startswith("_")
    ]


def materialise(
    out_dir: Path,
    folder: Path = GOLDEN_CORPUS,
    only: Callable[[GroundTruth], bool] | None = None,
) -> list[tuple[Path, GroundTruth]]:
    """Rebuild every golden file (or those ``only`` keeps) into ``out_dir``, with its
    ground truth beside it."""
    out = []
    for committed in load_golden_truth(folder):
        if only is not None and not only(committed):
            continue
        data, truth = build_item(committed.spec)
        if truth != committed:
            raise GoldenDrift(
                f"{committed.id}: rebuilt ground truth differs from the committed one"
            )
        out.append((write_item(out_dir, data, truth), truth))
    return out


def regenerate(folder: Path = GOLDEN_CORPUS) -> None:
    """Rewrite the committed ground truth from the fixed seed (binaries are not kept)."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    summary = generate_corpus(tmp, GOLDEN_N, GOLDEN_SEED)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in tmp.glob("*.json"):
        shutil.copy(path, folder / path.name)
    (folder / "_summary.json").write_text(summary.model_dump_json(indent=1) + "\n", "utf-8")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    regenerate()
