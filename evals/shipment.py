"""One consistent shipment, and the four documents' values derived from it.

Everything is drawn from a ``random.Random`` so that a seed fixes the result.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from core.records import (
    BillOfLadingLine,
    BillOfLadingValues,
    CommercialInvoiceValues,
    Container,
    CustomsDeclarationValues,
    DeclarationLine,
    InvoiceLine,
    Location,
    PackingLine,
    PackingListValues,
    Party,
)
from core.settings import get_settings
from evals import refdata
from evals.goods import Goods, catalogue, goods_in, trade_for
from evals.parties import make_party
from kb.ingest import data_dir

EXPORTERS = ("CN", "CN", "CN", "IN", "VN", "TR", "US", "KR", "JP", "BR", "GB", "SG")
IMPORTERS = ("NL", "DE", "BE", "FR")
VAT_RATES = {"NL": 0.21, "DE": 0.19, "BE": 0.21, "FR": 0.20}
# Rough EUR value of one unit of each currency (fixed, so documents stay reproducible).
EUR_PER_UNIT = {
    "EUR": 1.0,
    "USD": 0.92,
    "GBP": 1.17,
    "CNY": 0.128,
    "JPY": 0.0061,
    "INR": 0.011,
    "TRY": 0.028,
    "PLN": 0.23,
    "CHF": 1.05,
}


@lru_cache(maxsize=1)
def _cn_codes() -> dict[str, list[str]]:
    """HS6 -> the EU CN8 codes under it (from the bundled EU Combined Nomenclature)."""
    path = data_dir(get_settings()) / "eu-cn-2026" / "cnCodes_2026.json"
    by_hs6: dict[str, list[str]] = {}
    for row in json.loads(Path(path).read_text(encoding="utf-8")):
        by_hs6.setdefault(row["code"][:6], []).append(row["code"])
    return by_hs6


def cn8_for(rng: random.Random, hs6: str) -> str:
    codes = _cn_codes().get(hs6)
    return rng.choice(codes) if codes else f"{hs6}00"


@dataclass
class Line:
    goods: Goods
    origin: str
    quantity: float
    unit: str
    unit_price: float
    packages: int
    package_type: str
    net_kg: float
    gross_kg: float
    dims_cm: tuple[float, float, float]

    @property
    def amount(self) -> float:
        return round(self.quantity * self.unit_price, 2)

    @property
    def volume_m3(self) -> float:
        length, width, height = self.dims_cm
        return round(self.packages * length * width * height / 1_000_000, 3)


@dataclass
class Shipment:
    lang: str
    seller: Party
    buyer: Party
    notify: Party
    broker: Party
    carrier: refdata.Carrier
    vessel: str
    voyage: str
    receipt: refdata.Place
    loading: refdata.Place
    discharge: refdata.Place
    delivery: refdata.Place
    containers: list[Container]
    lines: list[Line]
    currency: str
    incoterm: str
    ship_date: date
    payment_terms: str
    ref: str
    extras: dict[str, str] = field(default_factory=dict)


def _route(rng: random.Random, country: str) -> tuple[refdata.Place, refdata.Place]:
    ports = refdata.places_in(country, seaport=True)
    port = rng.choice(ports)
    inland = refdata.places_in(country, seaport=False)
    receipt = rng.choice(inland) if inland and rng.random() < 0.5 else port
    return port, receipt


def _lines(rng: random.Random, lang: str, seller_country: str, count: int) -> list[Line]:
    pool = goods_in(lang) if rng.random() < 0.7 else goods_in("en")
    pool = pool or list(catalogue())
    lines = []
    for _ in range(count):
        goods = rng.choice(pool)
        trade = trade_for(goods.hs6)
        per_pkg = rng.randint(*trade.units_per_package)
        packages = rng.randint(1, 12 if trade.package != "CRATES" else 4)
        quantity = float(per_pkg * packages)
        unit_price = round(rng.uniform(*trade.price), 2)
        net = round(quantity * rng.uniform(*trade.kg_per_unit), 1)
        gross = round(net * rng.uniform(1.04, 1.15) + packages * 0.8, 1)
        dims = {
            "PALLETS": (120.0, 80.0, float(rng.randint(90, 180))),
            "CRATES": (float(rng.randint(100, 300)), float(rng.randint(80, 200)), 150.0),
            "BAGS": (80.0, 50.0, 15.0),
        }.get(trade.package, (float(rng.randint(30, 60)), float(rng.randint(20, 40)), 30.0))
        origin = seller_country if rng.random() < 0.85 else rng.choice(refdata.EXPORTERS_EXTRA)
        lines.append(
            Line(
                goods,
                origin,
                quantity,
                trade.unit,
                unit_price,
                packages,
                trade.package,
                net,
                gross,
                dims,
            )
        )
    return lines


def make_shipment(rng: random.Random, lang: str, line_count: int) -> Shipment:
    seller_country = rng.choice(EXPORTERS)
    buyer_country = rng.choice(IMPORTERS)
    carrier = rng.choice(refdata.CARRIERS)
    loading, receipt = _route(rng, seller_country)
    discharge, delivery = _route(rng, buyer_country)
    seller_currency = refdata.COUNTRIES[seller_country].currency
    currency = rng.choice(("USD", "EUR", seller_currency))
    prefix_pool = carrier.container_prefixes
    containers = [
        Container(
            number=refdata.container_number(rng.choice(prefix_pool), rng.randint(0, 999_999)),
            seal=f"{rng.choice(('SL', 'ML', 'H', 'EU', ''))}{rng.randint(100000, 9999999)}",
            size_type=rng.choice(tuple(refdata.SIZE_TYPES)),
        )
        for _ in range(rng.randint(1, 3))
    ]
    start = date(2025, 1, 6)
    ship_date = start + timedelta(days=rng.randint(0, 640))
    return Shipment(
        lang=lang,
        seller=make_party(rng, seller_country),
        buyer=make_party(rng, buyer_country),
        notify=make_party(rng, buyer_country),
        broker=make_party(rng, buyer_country),
        carrier=carrier,
        vessel=rng.choice(carrier.vessels),
        voyage=f"{rng.randint(1, 99):03d}{rng.choice('WENS')}",
        receipt=receipt,
        loading=loading,
        discharge=discharge,
        delivery=delivery,
        containers=containers,
        lines=_lines(rng, lang, seller_country, line_count),
        currency=currency,
        incoterm=rng.choice(refdata.INCOTERMS),
        ship_date=ship_date,
        payment_terms=rng.choice(refdata.PAYMENT_TERMS[lang]),
        ref=f"{rng.randint(10, 99)}{rng.randint(10000, 99999)}",
    )


def _loc(place: refdata.Place) -> Location:
    return Location(name=place.name, locode=place.locode)


def invoice_values(s: Shipment, rng: random.Random) -> CommercialInvoiceValues:
    subtotal = round(sum(line.amount for line in s.lines), 2)
    c_or_d = s.incoterm[0] in "CD"
    freight = round(subtotal * rng.uniform(0.03, 0.09), 2) if c_or_d else None
    insurance = round(subtotal * 0.0011 * 1.1, 2) if s.incoterm in ("CIF", "CIP") else None
    tax = 0.0 if rng.random() < 0.5 else None
    total = round(subtotal + (freight or 0) + (insurance or 0) + (tax or 0), 2)
    place = s.discharge if s.incoterm[0] in "CD" else s.loading
    return CommercialInvoiceValues(
        invoice_number=f"{rng.choice(('INV', 'CI', 'EXP', 'F'))}-{s.ship_date.year}-{s.ref}",
        invoice_date=(s.ship_date - timedelta(days=rng.randint(1, 6))).isoformat(),
        seller=s.seller,
        buyer=s.buyer,
        currency=s.currency,
        incoterm=s.incoterm,
        incoterm_place=place.name,
        payment_terms=s.payment_terms,
        line_items=[
            InvoiceLine(
                description=line.goods.text,
                hs_code=line.goods.hs6,
                origin_country=line.origin,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                amount=line.amount,
            )
            for line in s.lines
        ],
        subtotal=subtotal,
        freight=freight,
        insurance=insurance,
        tax=tax,
        total=total,
    )


def packing_list_values(s: Shipment, rng: random.Random) -> PackingListValues:
    return PackingListValues(
        packing_list_number=f"PL-{s.ref}",
        date=(s.ship_date - timedelta(days=rng.randint(0, 3))).isoformat(),
        invoice_reference=f"{s.ship_date.year}-{s.ref}",
        shipper=s.seller,
        consignee=s.buyer,
        line_items=[
            PackingLine(
                description=line.goods.text,
                package_count=line.packages,
                package_type=line.package_type,
                quantity=line.quantity,
                net_weight_kg=line.net_kg,
                gross_weight_kg=line.gross_kg,
                length_cm=line.dims_cm[0],
                width_cm=line.dims_cm[1],
                height_cm=line.dims_cm[2],
            )
            for line in s.lines
        ],
        total_packages=sum(line.packages for line in s.lines),
        total_net_weight_kg=round(sum(line.net_kg for line in s.lines), 1),
        total_gross_weight_kg=round(sum(line.gross_kg for line in s.lines), 1),
        total_volume_m3=round(sum(line.volume_m3 for line in s.lines), 3),
    )


def bill_of_lading_values(s: Shipment, rng: random.Random) -> BillOfLadingValues:
    return BillOfLadingValues(
        bl_number=f"{s.carrier.bl_prefix}{rng.randint(10**8, 10**9 - 1)}",
        shipper=s.seller,
        consignee=s.buyer,
        notify_party=s.notify if rng.random() < 0.6 else s.buyer,
        carrier=s.carrier.name,
        scac=s.carrier.scac,
        vessel=s.vessel,
        voyage=s.voyage,
        place_of_receipt=_loc(s.receipt),
        port_of_loading=_loc(s.loading),
        port_of_discharge=_loc(s.discharge),
        place_of_delivery=_loc(s.delivery),
        containers=list(s.containers),
        line_items=[
            BillOfLadingLine(
                marks=f"{s.buyer.name.split()[0].upper() if s.buyer.name else 'N'}/{i + 1:02d}",
                description=line.goods.text,
                package_count=line.packages,
                package_type=line.package_type,
                gross_weight_kg=line.gross_kg,
                volume_m3=line.volume_m3,
                hs_code=line.goods.hs6,
            )
            for i, line in enumerate(s.lines)
        ],
        freight_terms="PREPAID" if s.incoterm[0] in "CD" else "COLLECT",
        place_of_issue=s.loading.name,
        date_of_issue=(s.ship_date + timedelta(days=rng.randint(0, 2))).isoformat(),
        number_of_originals=rng.choice((3, 3, 1)),
    )


def declaration_values(s: Shipment, rng: random.Random) -> CustomsDeclarationValues:
    rate = EUR_PER_UNIT[s.currency]
    vat_rate = VAT_RATES[s.buyer.country or "NL"]
    lines = []
    for line in s.lines:
        value = round(line.amount * rate * 1.06, 2)
        duty = round(value * rng.choice((0.0, 0.0, 0.017, 0.027, 0.04, 0.065, 0.12)), 2)
        lines.append(
            DeclarationLine(
                commodity_code=cn8_for(rng, line.goods.hs6),
                description=line.goods.text,
                origin_country=line.origin,
                net_mass_kg=line.net_kg,
                customs_value=value,
                duty=duty,
                vat=round((value + duty) * vat_rate, 2),
            )
        )
    country = s.buyer.country or "NL"
    serial = "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(12))
    return CustomsDeclarationValues(
        declaration_number=f"LRN{s.ship_date.year}{s.ref}{rng.randint(100, 999)}",
        mrn=refdata.mrn(s.ship_date.year, country, serial, "A"),
        declaration_date=(s.ship_date + timedelta(days=rng.randint(18, 40))).isoformat(),
        declarant=s.broker,
        exporter=s.seller,
        importer=s.buyer,
        country_of_dispatch=s.loading.country,
        country_of_origin=s.seller.country,
        country_of_destination=country,
        procedure_code=rng.choice(refdata.PROCEDURE_CODES),
        currency="EUR",
        line_items=lines,
        total_customs_value=round(sum(x.customs_value or 0 for x in lines), 2),
        total_duty=round(sum(x.duty or 0 for x in lines), 2),
        total_vat=round(sum(x.vat or 0 for x in lines), 2),
    )
