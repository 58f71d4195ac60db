"""The degraded scan set: golden-style documents photographed badly, with ground truth.

The committed golden set keeps its own scans (its specs carry no degradation fields, so
they rebuild byte for byte). This set is separate and deterministic from its seed: item
``i`` is planned like a golden item (types, layout, language rotate), kept to at most 8
line items, and scanned with profile ``PROFILES[i % len(PROFILES)]``, its strength drawn
from the item's seed. The split into dev and test alternates within each profile (files
ordered by the sha256 of their id, as the golden split does): tune on dev, report test.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.corpus import GroundTruth, ItemSpec, build_item, plan_item, summarise, write_item
from evals.split import Part, make_split, write_split_file

DEGRADED_SEED = 2027
DEGRADED_N = 42
Draw = Callable[[random.Random], dict[str, Any]]


def _faded(rng: random.Random) -> dict[str, Any]:
    # A thermal print that lost most of its ink, scanned flat.
    return {"dpi": 200, "fade": round(rng.uniform(0.55, 0.75), 2), "blur": 0.4, "noise": 4.0}


def _perspective(rng: random.Random) -> dict[str, Any]:
    # A phone held at an angle over the page: keystoned, the table showing at the edges.
    return {
        "dpi": 200,
        "perspective": round(rng.uniform(0.03, 0.07), 3),
        "rotation": round(rng.uniform(-3.0, 3.0), 2),
        "blur": 0.6,
        "noise": 5.0,
    }


def _crumpled(rng: random.Random) -> dict[str, Any]:
    # Folded in four and crumpled in a pocket: creases and shadows across the text.
    return {"dpi": 200, "crumple": round(rng.uniform(0.25, 0.45), 2), "blur": 0.5, "noise": 5.0}


def _low_resolution(rng: random.Random) -> dict[str, Any]:
    # A fax-grade scan or a far-away photo.
    return {"dpi": rng.choice((100, 120, 150)), "blur": round(rng.uniform(0.2, 0.6), 2)}


def _shaken(rng: random.Random) -> dict[str, Any]:
    # A phone photo taken in a hurry: camera shake and soft focus.
    return {
        "dpi": 200,
        "motion": round(rng.uniform(3.0, 6.0), 1),
        "blur": round(rng.uniform(0.8, 1.4), 2),
        "noise": 4.0,
    }


def _uneven_light(rng: random.Random) -> dict[str, Any]:
    # A desk lamp to one side: one corner much darker than the other.
    return {"dpi": 200, "light": round(rng.uniform(0.45, 0.65), 2), "noise": 5.0}


def _phone(rng: random.Random) -> dict[str, Any]:
    # All of it, mildly: what a receipt photo usually is.
    return {
        "dpi": 150,
        "fade": round(rng.uniform(0.2, 0.4), 2),
        "perspective": round(rng.uniform(0.02, 0.04), 3),
        "light": round(rng.uniform(0.25, 0.4), 2),
        "motion": round(rng.uniform(1.5, 3.0), 1),
        "blur": 0.7,
        "noise": 6.0,
        "rotation": round(rng.uniform(-2.0, 2.0), 2),
    }


PROFILES: dict[str, Draw] = {
    "faded": _faded,
    "perspective": _perspective,
    "crumpled": _crumpled,
    "low_resolution": _low_resolution,
    "shaken": _shaken,
    "uneven_light": _uneven_light,
    "phone": _phone,
}
# Phone photos come as JPEG; scanner output in every format the product reads.
_PHOTO = {"perspective", "shaken", "phone"}


def degraded_spec(seed: int, index: int) -> ItemSpec:
    spec = plan_item(seed, index)
    profile = list(PROFILES)[index % len(PROFILES)]
    rng = random.Random(f"{spec.seed}:degrade")
    scan: dict[str, Any] = {"rotation": 0.0, "blur": 0.0, "noise": 0.0}
    scan |= PROFILES[profile](rng)
    scan |= {"jpeg_quality": rng.randint(60, 90), "seed": rng.randint(0, 2**31), "profile": profile}
    multi = len(spec.doc_types) > 1
    if multi:
        fmt = "pdf"
    elif profile in _PHOTO:
        fmt = "jpg"
    else:
        fmt = rng.choice(("png", "jpg", "tiff", "pdf"))
    short = spec.id.split("-", 2)[2]
    return spec.model_copy(
        update={
            "id": f"d{seed}-{index:04d}-{profile.replace('_', '')}-{short}",
            "line_count": min(spec.line_count, 8),
            "scan": scan,
            "scan_format": fmt,
        }
    )


def profile_of(truth: GroundTruth) -> str:
    return str((truth.spec.scan or {}).get("profile", ""))


def generate_degraded(out_dir: Path, n: int = DEGRADED_N, seed: int = DEGRADED_SEED) -> None:
    """Write ``n`` degraded scans with their ground truth, ``_summary.json`` and the
    dev/test split (``split.json``) to ``out_dir``."""
    truths = []
    for index in range(n):
        data, truth = build_item(degraded_spec(seed, index))
        write_item(out_dir, data, truth)
        truths.append(truth)
    summary = summarise(truths)
    (out_dir / "_summary.json").write_text(summary.model_dump_json(indent=1) + "\n", "utf-8")
    write_split_file(degraded_split(truths), out_dir / "split.json")


def degraded_split(truths: list[GroundTruth]) -> dict[Part, list[str]]:
    return make_split(truths, key=profile_of)
