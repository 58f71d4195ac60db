"""The golden set's dev / test split and the stratified samples drawn from it.

Every golden file is its own shipment (one seed, one set of parties, goods and numbers);
a multi-document file holds several documents of the same shipment, so the unit that
stays together is the file. Files are split per stratum (first document type, layout,
scanned or not) so both parts see every kind of document: within a stratum the files are
ordered by the sha256 of their id and alternate dev, test, dev, test ... The split is
committed (``golden/split.json``) and a test checks that it is what this function gives.

Tune on ``dev``; only score ``test``.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Literal

from evals.corpus import GroundTruth

Part = Literal["dev", "test"]
PARTS: tuple[Part, ...] = ("dev", "test")
SPLIT_FILE = Path(__file__).resolve().parent / "golden" / "split.json"


def stratum(truth: GroundTruth) -> tuple[str, str, bool]:
    spec = truth.spec
    return (spec.doc_types[0], spec.layout, spec.scan is not None)


def _order(file_id: str) -> str:
    return hashlib.sha256(file_id.encode()).hexdigest()


def make_split(
    truths: list[GroundTruth],
    key: Callable[[GroundTruth], Hashable] = stratum,
) -> dict[Part, list[str]]:
    """File ids of each part, deterministic from the ids and strata (``key``) alone."""
    strata: dict[Hashable, list[str]] = defaultdict(list)
    for truth in truths:
        strata[key(truth)].append(truth.id)
    out: dict[Part, list[str]] = {"dev": [], "test": []}
    for group in sorted(strata, key=repr):
        for i, file_id in enumerate(sorted(strata[group], key=_order)):
            out[PARTS[i % 2]].append(file_id)
    return {part: sorted(ids) for part, ids in out.items()}


def load_split(path: Path = SPLIT_FILE) -> dict[Part, list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"dev": list(data["dev"]), "test": list(data["test"])}


def write_split(truths: list[GroundTruth], path: Path = SPLIT_FILE) -> None:
    write_split_file(make_split(truths), path)


def write_split_file(split: dict[Part, list[str]], path: Path) -> None:
    path.write_text(json.dumps(split, indent=1) + "\n", encoding="utf-8")


def stratified_sample(truths: list[GroundTruth], n: int, seed: int) -> list[GroundTruth]:
    """``n`` files spread over (document type, layout) strata, scans included.

    Round-robin over the strata in a seeded order, so ``n = 12`` takes one file of each
    type and layout and ``n = 36`` three. The i-th stratum (in that order) puts its first
    scan at position i mod 3, so a third of a 12-file sample are scans (about their share
    in the corpus) and a 36-file sample holds a scan of every type and layout that has one.
    The files come in pick order, so the first k of them are spread over the strata too.
    """
    rng = random.Random(seed)
    strata: dict[tuple[str, str], list[GroundTruth]] = defaultdict(list)
    for truth in sorted(truths, key=lambda t: t.id):
        strata[(truth.spec.doc_types[0], truth.spec.layout)].append(truth)
    keys = sorted(strata)
    rng.shuffle(keys)
    queues = []
    for i, key in enumerate(keys):
        members = strata[key]
        rng.shuffle(members)
        scans = [t for t in members if t.spec.scan is not None]
        rest = [t for t in members if t.spec.scan is None]
        at = i % 3
        queues.append(rest[:at] + scans[:1] + rest[at:] + scans[1:])
    picked: list[GroundTruth] = []
    while len(picked) < n and any(queues):
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(queue.pop(0))
    # In pick order: an interrupted run has covered the strata evenly.
    return picked


if __name__ == "__main__":
    from evals.goldenset import load_golden_truth

    write_split(load_golden_truth())
