"""Deterministic validation: the issues a user (or the model) gets for a wrong record."""

from __future__ import annotations

from datetime import date
from typing import Any

from tools.validate import add_printed_containers, coerce_types, normalize, validate
from tools.validate_codes import (
    container_problem,
    iso6346_check_digit,
    locode_problem,
    parse_number,
)

TODAY = date(2026, 11, 23)


def _invoice(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "invoice_number": "INV-2026-0042",
        "invoice_date": "2026-10-02",
        "seller": {"name": "Acme GmbH", "country": "DE"},
        "buyer": {"name": "Bolt BV", "country": "NL"},
        "currency": "EUR",
        "incoterm": "FOB",
        "line_items": [
            {
                "description": "steel bolts",
                "hs_code": "731815",
                "quantity": 100,
                "unit_price": 2.5,
                "amount": 250.0,
            },
            {
                "description": "nuts",
                "hs_code": "731816",
                "quantity": 10,
                "unit_price": 1.0,
                "amount": 10.0,
            },
        ],
        "freight": 40.0,
        "total": 300.0,
    }
    record.update(overrides)
    return record


def _codes(doc_type: Any, record: dict[str, Any], **kw: Any) -> list[tuple[str, str]]:
    result = validate(doc_type, normalize(doc_type, record), today=TODAY, **kw)
    return [(i.code, i.field) for i in result.issues]


def test_iso6346_check_digit_matches_published_examples() -> None:
    assert iso6346_check_digit("CSQU305438") == 3
    assert container_problem("CSQU3054383") is None
    assert container_problem("CSQU 305438-3") is None
    assert "check digit is 4" in (container_problem("CSQU3054384") or "")
    assert "not of the form" in (container_problem("CSQ3054383") or "")


def test_locode_form_and_country() -> None:
    assert locode_problem("NLRTM") is None
    assert locode_problem("DE HAM") is None
    assert "not an ISO 3166" in (locode_problem("QQHAM") or "")
    assert "form" in (locode_problem("Rotterdam") or "")


def test_a_consistent_invoice_has_no_issues() -> None:
    assert _codes("commercial_invoice", _invoice()) == []


def test_normalize_rewrites_dates_codes_and_currency_symbols() -> None:
    out = normalize(
        "commercial_invoice",
        _invoice(invoice_date="02.10.2026", currency="€", incoterm=" fob "),
    )
    assert (out["invoice_date"], out["currency"], out["incoterm"]) == ("2026-10-02", "EUR", "FOB")


def test_wrong_codes_are_named_by_field() -> None:
    record = _invoice(
        currency="ECU", incoterm="FOB2010", buyer={"name": "B", "country": "Nederlandia"}
    )
    assert _codes("commercial_invoice", record) == [
        ("country_code", "buyer.country"),
        ("currency_code", "currency"),
        ("incoterm", "incoterm"),
    ]


def test_line_arithmetic_and_total() -> None:
    record = _invoice()
    record["line_items"][1]["amount"] = 100.0
    assert _codes("commercial_invoice", record) == [
        ("line_amount", "line_items[1].amount"),
        ("lines_total", "total"),
    ]


def test_required_fields_and_dates() -> None:
    record = _invoice(invoice_number="", invoice_date="yesterday-ish")
    assert _codes("commercial_invoice", record) == [
        ("required_missing", "invoice_number"),
        ("date", "invoice_date"),
    ]
    assert _codes("commercial_invoice", _invoice(invoice_date="1970-01-01")) == [
        ("date", "invoice_date")
    ]


def test_hs_codes_are_checked_against_the_tariff() -> None:
    known = {"731815"}
    assert _codes("commercial_invoice", _invoice(), hs_exists=known.__contains__) == [
        ("hs_code_unknown", "line_items[1].hs_code")
    ]


def test_bill_of_lading_containers_and_locodes() -> None:
    record = {
        "bl_number": "MEDU1234567",
        "shipper": {"name": "Acme"},
        "consignee": {"name": "Bolt"},
        "port_of_loading": {"name": "Hamburg", "locode": "DE HAM"},
        "port_of_discharge": {"name": "Shanghai", "locode": "CN-SHA"},
        "containers": [{"number": "CSQU 305438 3"}, {"number": "MSCU1234567"}],
    }
    assert _codes("bill_of_lading", record) == [
        ("locode", "port_of_discharge.locode"),
        ("container_number", "containers[1].number"),
    ]


def test_packing_list_weights_and_totals() -> None:
    record = {
        "packing_list_number": "PL-1",
        "shipper": {"name": "Acme"},
        "line_items": [
            {"description": "a", "package_count": 2, "net_weight_kg": 90, "gross_weight_kg": 100},
            {"description": "b", "package_count": 1, "net_weight_kg": 60, "gross_weight_kg": 50},
        ],
        "total_packages": 3,
        "total_gross_weight_kg": 150,
        "total_net_weight_kg": 150,
    }
    assert _codes("packing_list", record) == [
        ("weights", "line_items[1].gross_weight_kg"),
    ]
    record["total_gross_weight_kg"] = 140
    assert ("lines_total", "total_gross_weight_kg") in _codes("packing_list", record)
    assert ("weights", "total_gross_weight_kg") in _codes("packing_list", record)


def test_numbers_written_as_text_are_read_in_either_convention() -> None:
    assert [parse_number(s) for s in ("24.816,00", "1,250.50", "56,40", "1,250", "12 PCS")] == [
        24816.0,
        1250.5,
        56.4,
        1250.0,
        12.0,
    ]
    assert parse_number("34.460,18 137.840,72") is None
    assert parse_number("n/a") is None


def test_coerce_types_turns_text_numbers_into_numbers_and_drops_the_unreadable() -> None:
    raw = {
        "invoice_number": 12345,
        "total": "EUR 183.427,07",
        "line_items": [{"quantity": "12 PCS", "amount": "1,00 2,00", "hs_code": 330610}],
    }
    assert coerce_types("commercial_invoice", raw) == {
        "invoice_number": "12345",
        "total": 183427.07,
        "line_items": [{"quantity": 12.0, "amount": None, "hs_code": "330610"}],
    }
    assert coerce_types("packing_list", {"total_packages": "12 CTN"}) == {"total_packages": 12}


def test_country_names_and_places_with_codes_are_normalized() -> None:
    out = normalize(
        "bill_of_lading",
        coerce_types(
            "bill_of_lading",
            {
                "shipper": {"name": "Hanil", "country": "Korea, Republic of"},
                "consignee": {"name": "Laurent", "country": "Frankreich"},
                "port_of_loading": "Busan (KRPUS)",
                "port_of_discharge": {"name": "Fos-sur-Mer (FR FOS)"},
            },
        ),
    )
    assert (out["shipper"]["country"], out["consignee"]["country"]) == ("KR", "FR")
    assert out["port_of_loading"] == {"name": "Busan", "locode": "KRPUS"}
    assert out["port_of_discharge"] == {"name": "Fos-sur-Mer", "locode": "FRFOS"}


def test_printed_containers_the_model_left_out_are_added() -> None:
    text = "Container No. Seal\nCSQU3054383 EU1\nCSQU 305438 4 (bad digit)\nMSKU 123456-5 EU2"
    values = {"containers": [{"number": "CSQU3054383", "seal": "EU1"}]}
    assert add_printed_containers(values, text)["containers"] == [
        {"number": "CSQU3054383", "seal": "EU1"},
        {"number": "MSKU1234565"},
    ]


def test_a_trailing_country_name_leaves_the_address_for_the_country_field() -> None:
    values = normalize(
        "commercial_invoice",
        {
            "seller": {"name": "S", "address": "19 Binhai Avenue, 200120 Shanghai, China"},
            "buyer": {"name": "B", "address": "Kade 5, 3011 Rotterdam", "country": "nl"},
        },
    )
    assert values["seller"] == {
        "name": "S",
        "address": "19 Binhai Avenue, 200120 Shanghai",
        "country": "CN",
    }
    assert values["buyer"]["address"] == "Kade 5, 3011 Rotterdam"
    assert values["buyer"]["country"] == "NL"


def test_null_tables_whole_floats_and_a_lone_row_are_read_as_meant() -> None:
    raw = {"containers": None, "number_of_originals": 3.0, "line_items": {"marks": "A/1"}}
    out = coerce_types("bill_of_lading", raw)
    assert out["containers"] == [] and out["number_of_originals"] == 3
    assert out["line_items"] == [{"marks": "A/1"}]
    assert (
        coerce_types("bill_of_lading", {"number_of_originals": 2.5})["number_of_originals"] is None
    )
