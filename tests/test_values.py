"""One reader of printed numbers, dates and container numbers for product and scorer."""

from __future__ import annotations

from datetime import date

import pytest

from core.values import (
    container_problem,
    containers_in_text,
    day_first_of,
    decimal_of,
    decimal_of_numbers,
    decimal_shown,
    iso6346_check_digit,
    package_type_code,
    parse_date,
    parse_number,
)
from evals.scoring import normalise
from tools import validate_codes


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("24.816,00", None, 24816.0),
        ("1,250,000", None, 1250000.0),
        ("1.250.000", None, 1250000.0),
        ("1,250.50", None, 1250.5),
        ("1 234,56", None, 1234.56),
        ("1\u00a0234,56", None, 1234.56),
        ("1'234.56", None, 1234.56),
        ("56,40", None, 56.4),
        ("EUR 300", None, 300.0),
        ("12 PCS", None, 12.0),
        ("-12.5", None, -12.5),
        ("0.125", None, 0.125),
        ("1,250", None, 1250.0),
        ("1.250", None, 1.25),
        ("1.250", ",", 1250.0),
        ("1,250", ",", 1.25),
        ("1,250", ".", 1250.0),
        ("12 x 3", None, None),
        ("n/a", None, None),
    ],
)
def test_numbers(text: str, decimal: str | None, expected: float | None) -> None:
    assert parse_number(text, decimal=decimal) == expected


def test_product_and_scorer_read_numbers_alike() -> None:
    for text in ("1,250,000", "24.816,00", "1 234,56", "EUR 12,50"):
        assert normalise.parse_number(text) == validate_codes.parse_number(text)
    assert normalise.parse_number("1,250,000") == 1250000.0


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("2026-01-31", None, date(2026, 1, 31)),
        ("20260131", None, date(2026, 1, 31)),
        ("31.01.2026", None, date(2026, 1, 31)),
        ("31/01/2026", None, date(2026, 1, 31)),
        ("01/31/2026", None, date(2026, 1, 31)),
        ("09/08/2022", None, date(2022, 8, 9)),
        ("09/08/2022", True, date(2022, 8, 9)),
        ("09/08/2022", False, date(2022, 9, 8)),
        ("09.08.2022", False, date(2022, 8, 9)),  # dots are day-first everywhere
        ("31-01-26", None, date(2026, 1, 31)),
        ("31 Jan 2026", None, date(2026, 1, 31)),
        ("September 8, 2022", None, date(2022, 9, 8)),
        ("Sep 8th, 2022", None, date(2022, 9, 8)),
        ("8. September 2022", None, date(2022, 9, 8)),
        ("3 mars 2026", None, date(2026, 3, 3)),
        ("3 maart 2026", None, date(2026, 3, 3)),
        ("12. März 2026", None, date(2026, 3, 12)),
        ("1 décembre 2025", None, date(2025, 12, 1)),
        ("2026/02/30", None, None),
        ("no date", None, None),
    ],
)
def test_dates(text: str, day_first: bool | None, expected: date | None) -> None:
    assert parse_date(text, day_first=day_first) == expected


def test_the_document_decides_ambiguous_dates_and_decimals() -> None:
    assert day_first_of("Invoice date 09/08/2022  Due 09/23/2022") is False
    assert day_first_of("Date 23/08/2022  Order 09/08/2022") is True
    assert day_first_of("Rechnung 09/08/2022", lang="de") is True
    assert day_first_of("Invoice 09/08/2022") is None
    assert decimal_of("Total 1.234,56 EUR  Tax 12,50") == ","
    assert decimal_of("Total USD 1,234.56  Tax 12.50") == "."


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("1.234,5", ","),
        ("2,50", ","),
        ("0,125", ","),
        ("1.234.567", ","),
        ("1,234.5", "."),
        ("0.154", "."),
        ("1234.567", "."),
        ("1 524,0", ","),
        ("1.960", None),
        ("1,960", None),
        ("328", None),
        ("12 x 3", None),
    ],
)
def test_the_decimal_separator_a_number_shows(number: str, shown: str | None) -> None:
    assert decimal_shown(number) == shown


def test_a_tables_numbers_decide_its_separator_together() -> None:
    # "1.960" alone decides nothing; the weights beside it do, for every cell at once.
    assert decimal_of_numbers(["1.960", "1.960,0", "2.056,5", "0.80"]) == ","
    assert decimal_of_numbers(["1.960", "7.271"]) is None
    assert decimal_of_numbers(["2,50", "2.50"]) is None


@pytest.mark.parametrize(
    ("printed", "code"),
    [
        ("KARTONS", "CARTONS"),
        ("dozen", "CARTONS"),
        ("CTNS", "CARTONS"),
        ("Säcke", "BAGS"),
        ("FÛTS", "DRUMS"),
        ("Paletten", "PALLETS"),
        ("PX", "PALLETS"),
        ("KISTEN", "CRATES"),
        ("PALETTES 10", None),
        ("Office chairs", None),
    ],
)
def test_package_kinds_read_as_the_record_writes_them(printed: str, code: str | None) -> None:
    assert package_type_code(printed) == code


def test_validation_reads_us_dates_once_the_document_says_so() -> None:
    assert validate_codes.parse_date("12/31/2025") == date(2025, 12, 31)


def test_container_numbers_with_check_digits() -> None:
    assert iso6346_check_digit("CSQU305438") == 3
    assert container_problem("CSQU 305438-3") is None
    assert container_problem("CSQU3054384") is not None
    assert container_problem("1234567") is not None
    text = "Containers: MSKU 123456-? CSQU3054383 / TGHU1234560 CSQU3054383"
    assert containers_in_text(text) == [n for n in ["CSQU3054383"] if not container_problem(n)]
