"""Query understanding for tariff lookups: brands, foreign goods words, multi-item lines,
and the exclusion clauses of tariff titles (no embedder needed)."""

from __future__ import annotations

import pytest

from kb.corpora.hs2022 import exclusions, without_exclusions
from kb.query import debrand, items
from kb.vocabulary import english, gloss


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("iPhone 15 Pro cases, silicone", "smartphone cases, silicone"),  # a product line
        ("PlayStation 5 consoles", "video game console consoles"),
        ("Makita 18V cordless drill", "cordless drill"),  # a maker beside the goods: dropped
        ("Makita", "power tools"),  # a maker alone: its usual goods
        ("sacs à main Louis Vuitton en cuir", "sacs à main en cuir"),
        ("Samsung Galaxy S24 Ultra", "smartphone"),
    ],
)
def test_brands_give_way_to_the_goods_they_stand_for(text: str, want: str) -> None:
    assert debrand(text) == want


@pytest.mark.parametrize("text", ["apple juice", "kraft paper sacks", "Straße Fahrräder", "vans"])
def test_text_without_a_known_brand_is_unchanged(text: str) -> None:
    assert debrand(text) == text


def test_a_multi_item_line_is_split_into_its_goods() -> None:
    assert items("cotton t-shirts and denim jeans") == ["cotton t-shirts", "denim jeans"]
    assert items("steel screws; plastic wall plugs") == ["steel screws", "plastic wall plugs"]
    for whole in (
        "nuts and bolts",
        "men's and boys' shirts",
        "parts and accessories of bicycles",
        "tables and chairs (oak and beech)",
    ):
        assert items(whole) == [whole]


def test_german_dutch_and_french_goods_words_are_glossed_in_english() -> None:
    assert english("Waspoeder") == ["washing preparations, detergent"]
    assert english("Diepvriesgarnalen gepeld") == ["shrimps and prawns", "frozen"]  # compound
    assert english("Bürodrehstühle") == ["chairs"]
    assert gloss("Lessive en poudre") == "Lessive en poudre; washing preparations, detergent"
    # English text, and English words inside longer ones, are left alone
    for text in ("fresh vegetables", "rubber covers for drivers", "power bank 10000mAh"):
        assert gloss(text) == text


def test_exclusion_clauses_are_taken_out_of_titles_and_kept_apart() -> None:
    title = (
        "Footwear; with outer soles of rubber or plastics, other than sports footwear, "
        "not covering the ankle"
    )
    assert without_exclusions(title) == (
        "Footwear; with outer soles of rubber or plastics, not covering the ankle"
    )
    assert exclusions(title) == ["sports footwear"]
    bracketed = "Reservoirs; for any material (excluding compressed or liquefied gas), of iron"
    assert without_exclusions(bracketed) == "Reservoirs; for any material, of iron"
    assert exclusions(bracketed) == ["compressed or liquefied gas"]
    listed = "Sulphur of all kinds; other than sublimed, precipitated and colloidal sulphur"
    assert without_exclusions(listed) == "Sulphur of all kinds"
    assert exclusions("Bicycles; not motorised") == []
