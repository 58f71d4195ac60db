"""Goods as traders describe them, with their HS6 codes.

The catalogue is the hand-written retrieval golden set (``golden/retrieval.jsonl``): the
same wording a lookup is measured on is what the generated invoices print. Units, prices
and weights come from a coarse table per HS chapter so that totals are plausible.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
RETRIEVAL_GOLDEN = GOLDEN_DIR / "retrieval.jsonl"
# The generator draws from the first cases only, so that cases appended to the retrieval set
# later do not change the corpus (and the committed golden ground truth).
CATALOGUE_CASES = 263


@dataclass(frozen=True)
class Trade:
    unit: str
    price: tuple[float, float]  # per unit, in EUR-ish
    kg_per_unit: tuple[float, float]
    units_per_package: tuple[int, int]
    package: str


# Chapter groups -> how such goods are sold and packed.
_TRADES: dict[str, Trade] = {
    "food": Trade("KG", (0.8, 14.0), (1.0, 1.0), (200, 900), "CARTONS"),
    "drink": Trade("BTL", (0.6, 35.0), (0.9, 1.6), (6, 24), "CARTONS"),
    "textile": Trade("PCS", (1.8, 28.0), (0.15, 0.9), (24, 120), "CARTONS"),
    "footwear": Trade("PRS", (6.0, 55.0), (0.6, 1.6), (8, 24), "CARTONS"),
    "electronics": Trade("PCS", (8.0, 650.0), (0.2, 6.0), (4, 40), "CARTONS"),
    "machines": Trade("PCS", (250.0, 48000.0), (30.0, 4000.0), (1, 2), "CRATES"),
    "metal": Trade("KG", (0.9, 6.5), (1.0, 1.0), (400, 1200), "PALLETS"),
    "bulk": Trade("KG", (0.12, 2.5), (1.0, 1.0), (25, 1000), "BAGS"),
    "plastics": Trade("KG", (0.9, 3.2), (1.0, 1.0), (500, 1000), "BAGS"),
    "furniture": Trade("PCS", (18.0, 420.0), (4.0, 45.0), (1, 6), "CARTONS"),
    "vehicles": Trade("PCS", (180.0, 38000.0), (8.0, 9000.0), (1, 4), "CRATES"),
    "misc": Trade("PCS", (0.3, 60.0), (0.05, 2.0), (20, 200), "CARTONS"),
}

_CHAPTER_GROUPS: tuple[tuple[range, str], ...] = (
    (range(1, 22), "food"),
    (range(22, 23), "drink"),
    (range(23, 25), "food"),
    (range(25, 28), "bulk"),
    (range(28, 39), "misc"),
    (range(39, 41), "plastics"),
    (range(41, 44), "misc"),
    (range(44, 47), "bulk"),
    (range(47, 50), "misc"),
    (range(50, 64), "textile"),
    (range(64, 65), "footwear"),
    (range(65, 72), "misc"),
    (range(72, 82), "metal"),
    (range(82, 84), "misc"),
    (range(84, 85), "machines"),
    (range(85, 86), "electronics"),
    (range(86, 90), "vehicles"),
    (range(90, 94), "misc"),
    (range(94, 95), "furniture"),
    (range(95, 100), "misc"),
)


def trade_for(hs6: str) -> Trade:
    chapter = int(hs6[:2])
    for chapters, group in _CHAPTER_GROUPS:
        if chapter in chapters:
            if group == "metal" and hs6[:4] in ("7318", "7324", "7616"):
                return _TRADES["misc"]
            if group == "machines" and hs6[:4] in ("8450", "8415", "8418", "8413", "8482"):
                return _TRADES["electronics"]
            return _TRADES[group]
    return _TRADES["misc"]


@dataclass(frozen=True)
class Goods:
    id: str
    lang: str
    text: str
    hs6: str


@lru_cache(maxsize=1)
def catalogue() -> tuple[Goods, ...]:
    rows = []
    for line in RETRIEVAL_GOLDEN.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            rows.append(Goods(id=d["id"], lang=d["lang"], text=d["text"], hs6=d["hs6"]))
    return tuple(rows[:CATALOGUE_CASES])


def goods_in(lang: str) -> list[Goods]:
    return [g for g in catalogue() if g.lang == lang]
