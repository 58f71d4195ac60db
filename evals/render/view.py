"""What a document shows, independent of layout: labelled cells that remember their field.

Each printed value records the envelope key it stands for (``shipper.name``,
``line_items[3].amount``), so the ground truth knows the exact text each value was
printed as (its provenance ``source_text``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from core.records import (
    BillOfLadingValues,
    CommercialInvoiceValues,
    CustomsDeclarationValues,
    Location,
    PackingListValues,
    Party,
)
from evals import refdata
from evals.render.labels import label


@dataclass
class Cell:
    text: str
    key: str | None = None  # envelope key this text is the printed value of
    align: str = "left"


@dataclass
class PartyBlock:
    title: str
    lines: list[Cell]


@dataclass
class DocView:
    doc_type: str
    lang: str
    title: str
    issuer: Party | None
    header: list[tuple[str, Cell]] = field(default_factory=list)
    parties: list[PartyBlock] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    aligns: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    totals: list[tuple[str, Cell]] = field(default_factory=list)
    extra_tables: list[tuple[list[str], list[list[Cell]]]] = field(default_factory=list)
    footer: list[tuple[str, Cell]] = field(default_factory=list)
    # Values printed inside another cell (e.g. the three dimensions in "120 x 80 x 150").
    hidden: list[Cell] = field(default_factory=list)

    def printed(self) -> dict[str, str]:
        """Envelope key -> the exact text printed for it."""
        cells: list[Cell] = [c for _, c in self.header + self.totals + self.footer]
        cells += [c for block in self.parties for c in block.lines]
        cells += [c for row in self.rows for c in row]
        cells += [c for _, rows in self.extra_tables for row in rows for c in row]
        cells += self.hidden
        return {c.key: c.text for c in cells if c.key is not None}


@dataclass(frozen=True)
class Style:
    """Formatting choices that vary between issuers."""

    dotted_hs: bool = False
    upper_places: bool = False
    iso_dates: bool = False


def fmt_number(value: float, lang: str, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    if lang in ("nl", "de"):
        return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    if lang == "fr":
        return text.replace(",", "\u00a0").replace(".", ",")
    return text


def fmt_date(iso: str, lang: str, style: Style) -> str:
    d = date.fromisoformat(iso)
    if style.iso_dates:
        return d.isoformat()
    if lang == "en":
        return d.strftime("%d %b %Y")
    sep = {"nl": "-", "de": ".", "fr": "/"}[lang]
    return f"{d.day:02d}{sep}{d.month:02d}{sep}{d.year}"


def fmt_hs(code: str, style: Style) -> str:
    if style.dotted_hs and len(code) >= 6:
        return f"{code[:4]}.{code[4:6]}" + (f".{code[6:]}" if len(code) > 6 else "")
    return code


def party_block(title: str, party: Party | None, key: str, lang: str) -> PartyBlock:
    lines: list[Cell] = []
    if party is None:
        return PartyBlock(title, lines)
    if party.name:
        lines.append(Cell(party.name, f"{key}.name"))
    if party.address:
        lines.append(Cell(party.address.replace(", ", "\n", 1), f"{key}.address"))
    if party.country:
        lines.append(Cell(refdata.COUNTRIES[party.country].names[lang], f"{key}.country"))
    return PartyBlock(title, lines)


def _place(loc: Location | None, key: str, style: Style) -> list[Cell]:
    if loc is None or loc.name is None:
        return [Cell("")]
    name = loc.name.upper() if style.upper_places else loc.name
    cells = [Cell(name, f"{key}.name")]
    if loc.locode:
        cells.append(Cell(loc.locode, f"{key}.locode"))
    return cells


def _country(code: str | None, key: str, lang: str) -> Cell:
    if code is None:
        return Cell("")
    return Cell(refdata.COUNTRIES[code].names[lang] if code in refdata.COUNTRIES else code, key)


def _num(value: float | None, key: str, lang: str, decimals: int) -> Cell:
    if value is None:
        return Cell("", align="right")
    return Cell(fmt_number(value, lang, decimals), key, "right")


def invoice_view(v: CommercialInvoiceValues, lang: str, style: Style) -> DocView:
    view = DocView("commercial_invoice", lang, label("commercial_invoice", lang), v.seller)
    view.header = [
        (label("invoice_no", lang), Cell(v.invoice_number or "", "invoice_number")),
        (label("date", lang), Cell(fmt_date(v.invoice_date or "", lang, style), "invoice_date")),
        (label("currency", lang), Cell(v.currency or "", "currency")),
        (label("incoterms", lang), Cell(f"{v.incoterm or ''} {v.incoterm_place or ''}".strip())),
        (label("payment_terms", lang), Cell(v.payment_terms or "", "payment_terms")),
    ]
    view.hidden = [
        Cell(v.incoterm or "", "incoterm"),
        Cell(v.incoterm_place or "", "incoterm_place"),
    ]
    view.parties = [
        party_block(label("seller", lang), v.seller, "seller", lang),
        party_block(label("buyer", lang), v.buyer, "buyer", lang),
    ]
    cols = ("pos", "description", "hs_code", "origin", "quantity", "unit", "unit_price", "amount")
    view.columns = [label(c, lang) for c in cols]
    view.aligns = ["left", "left", "left", "left", "right", "left", "right", "right"]
    for i, item in enumerate(v.line_items):
        k = f"line_items[{i}]"
        view.rows.append(
            [
                Cell(str(i + 1)),
                Cell(item.description or "", f"{k}.description"),
                Cell(fmt_hs(item.hs_code or "", style), f"{k}.hs_code"),
                Cell(item.origin_country or "", f"{k}.origin_country"),
                _num(item.quantity, f"{k}.quantity", lang, 0),
                Cell(item.unit or "", f"{k}.unit"),
                _num(item.unit_price, f"{k}.unit_price", lang, 2),
                _num(item.amount, f"{k}.amount", lang, 2),
            ]
        )
    for key, value in (
        ("subtotal", v.subtotal),
        ("freight", v.freight),
        ("insurance", v.insurance),
        ("tax", v.tax),
        ("total", v.total),
    ):
        if value is not None:
            view.totals.append((label(key, lang), _num(value, key, lang, 2)))
    return view


def packing_list_view(v: PackingListValues, lang: str, style: Style) -> DocView:
    view = DocView("packing_list", lang, label("packing_list", lang), v.shipper)
    view.header = [
        (label("pl_no", lang), Cell(v.packing_list_number or "", "packing_list_number")),
        (label("date", lang), Cell(fmt_date(v.date or "", lang, style), "date")),
        (label("invoice_ref", lang), Cell(v.invoice_reference or "", "invoice_reference")),
    ]
    view.parties = [
        party_block(label("shipper", lang), v.shipper, "shipper", lang),
        party_block(label("consignee", lang), v.consignee, "consignee", lang),
    ]
    cols = ("pos", "description", "packages", "package_type", "quantity", "net_kg", "gross_kg")
    view.columns = [label(c, lang) for c in cols] + [label("dims", lang)]
    view.aligns = ["left", "left", "right", "left", "right", "right", "right", "left"]
    for i, item in enumerate(v.line_items):
        k = f"line_items[{i}]"
        dims = [
            Cell(fmt_number(d or 0, lang, 0), f"{k}.{name}")
            for d, name in (
                (item.length_cm, "length_cm"),
                (item.width_cm, "width_cm"),
                (item.height_cm, "height_cm"),
            )
        ]
        view.rows.append(
            [
                Cell(str(i + 1)),
                Cell(item.description or "", f"{k}.description"),
                Cell(str(item.package_count or ""), f"{k}.package_count", "right"),
                Cell(
                    refdata.PACKAGE_TYPES[item.package_type or "CARTONS"][lang], f"{k}.package_type"
                ),
                _num(item.quantity, f"{k}.quantity", lang, 0),
                _num(item.net_weight_kg, f"{k}.net_weight_kg", lang, 1),
                _num(item.gross_weight_kg, f"{k}.gross_weight_kg", lang, 1),
                Cell(" x ".join(c.text for c in dims)),
            ]
        )
        view.hidden.extend(dims)
    view.totals = [
        (
            label("total_packages", lang),
            Cell(str(v.total_packages or 0), "total_packages", "right"),
        ),
        (label("net_kg", lang), _num(v.total_net_weight_kg, "total_net_weight_kg", lang, 1)),
        (label("gross_kg", lang), _num(v.total_gross_weight_kg, "total_gross_weight_kg", lang, 1)),
        (label("volume", lang), _num(v.total_volume_m3, "total_volume_m3", lang, 3)),
    ]
    return view


def bill_of_lading_view(v: BillOfLadingValues, lang: str, style: Style) -> DocView:
    view = DocView("bill_of_lading", lang, label("bill_of_lading", lang), None)
    view.header = [
        (label("bl_no", lang), Cell(v.bl_number or "", "bl_number")),
        (label("carrier", lang), Cell(v.carrier or "", "carrier")),
        (label("scac", lang), Cell(v.scac or "", "scac")),
        (label("vessel", lang), Cell(v.vessel or "", "vessel")),
        (label("voyage", lang), Cell(v.voyage or "", "voyage")),
    ]
    for key, loc, name in (
        ("receipt", v.place_of_receipt, "place_of_receipt"),
        ("pol", v.port_of_loading, "port_of_loading"),
        ("pod", v.port_of_discharge, "port_of_discharge"),
        ("delivery", v.place_of_delivery, "place_of_delivery"),
    ):
        cells = _place(loc, name, style)
        shown = cells[0].text + (f" ({cells[1].text})" if len(cells) > 1 else "")
        view.header.append((label(key, lang), Cell(shown)))
        view.hidden.extend(cells)
    view.parties = [
        party_block(label("shipper", lang), v.shipper, "shipper", lang),
        party_block(label("consignee", lang), v.consignee, "consignee", lang),
        party_block(label("notify", lang), v.notify_party, "notify_party", lang),
    ]
    ctr_rows = [
        [
            Cell(c.number or "", f"containers[{i}].number"),
            Cell(c.seal or "", f"containers[{i}].seal"),
            Cell(c.size_type or "", f"containers[{i}].size_type"),
        ]
        for i, c in enumerate(v.containers)
    ]
    labels = [label("container", lang), label("seal", lang), label("size_type", lang)]
    view.extra_tables.append((labels, ctr_rows))
    cols = ("marks", "packages", "package_type", "description", "hs_code", "gross_kg", "volume")
    view.columns = [label(c, lang) for c in cols]
    view.aligns = ["left", "right", "left", "left", "left", "right", "right"]
    for i, item in enumerate(v.line_items):
        k = f"line_items[{i}]"
        view.rows.append(
            [
                Cell(item.marks or "", f"{k}.marks"),
                Cell(str(item.package_count or ""), f"{k}.package_count", "right"),
                Cell(item.package_type or "", f"{k}.package_type"),
                Cell(item.description or "", f"{k}.description"),
                Cell(fmt_hs(item.hs_code or "", style), f"{k}.hs_code"),
                _num(item.gross_weight_kg, f"{k}.gross_weight_kg", lang, 1),
                _num(item.volume_m3, f"{k}.volume_m3", lang, 3),
            ]
        )
    issue_place = Cell(v.place_of_issue or "", "place_of_issue")
    issue_date = Cell(fmt_date(v.date_of_issue or "", lang, style), "date_of_issue")
    view.footer = [
        (label("freight_terms", lang), Cell(v.freight_terms or "", "freight_terms")),
        (label("issue", lang), Cell(f"{issue_place.text}, {issue_date.text}")),
        (label("originals", lang), Cell(str(v.number_of_originals or ""), "number_of_originals")),
    ]
    view.hidden.extend([issue_place, issue_date])
    return view


def declaration_view(v: CustomsDeclarationValues, lang: str, style: Style) -> DocView:
    view = DocView("customs_declaration", lang, label("customs_declaration", lang), v.declarant)
    view.header = [
        (f"1 {label('lrn', lang)}", Cell(v.declaration_number or "", "declaration_number")),
        (label("mrn", lang), Cell(v.mrn or "", "mrn")),
        (
            label("date", lang),
            Cell(fmt_date(v.declaration_date or "", lang, style), "declaration_date"),
        ),
        (
            f"15a {label('dispatch', lang)}",
            _country(v.country_of_dispatch, "country_of_dispatch", lang),
        ),
        (
            f"16 {label('origin_country', lang)}",
            _country(v.country_of_origin, "country_of_origin", lang),
        ),
        (
            f"17a {label('destination', lang)}",
            _country(v.country_of_destination, "country_of_destination", lang),
        ),
        (f"37 {label('procedure', lang)}", Cell(v.procedure_code or "", "procedure_code")),
        (f"22 {label('currency', lang)}", Cell(v.currency or "", "currency")),
    ]
    view.parties = [
        party_block(f"2 {label('exporter', lang)}", v.exporter, "exporter", lang),
        party_block(f"8 {label('importer', lang)}", v.importer, "importer", lang),
        party_block(f"14 {label('declarant', lang)}", v.declarant, "declarant", lang),
    ]
    cols = ("pos", "commodity", "description", "origin", "net_mass", "customs_value", "duty", "vat")
    view.columns = [label(c, lang) for c in cols]
    view.aligns = ["left", "left", "left", "left", "right", "right", "right", "right"]
    for i, item in enumerate(v.line_items):
        k = f"line_items[{i}]"
        view.rows.append(
            [
                Cell(str(i + 1)),
                Cell(fmt_hs(item.commodity_code or "", style), f"{k}.commodity_code"),
                Cell(item.description or "", f"{k}.description"),
                Cell(item.origin_country or "", f"{k}.origin_country"),
                _num(item.net_mass_kg, f"{k}.net_mass_kg", lang, 1),
                _num(item.customs_value, f"{k}.customs_value", lang, 2),
                _num(item.duty, f"{k}.duty", lang, 2),
                _num(item.vat, f"{k}.vat", lang, 2),
            ]
        )
    view.totals = [
        (label("customs_value", lang), _num(v.total_customs_value, "total_customs_value", lang, 2)),
        (label("duty", lang), _num(v.total_duty, "total_duty", lang, 2)),
        (label("vat", lang), _num(v.total_vat, "total_vat", lang, 2)),
    ]
    return view
