"""The extraction scorer on hand-written cases: exact, equivalent, wrong, missing, extra,
line-item matching and document splitting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import InputError
from core.records import FieldValue, FileRecords, Record
from evals.scoring.extraction import compare_records
from evals.scoring.normalise import compare, parse_date, parse_number
from evals.scoring.report import score_file, score_folders


def rec(
    doc_type: str = "commercial_invoice", pages: list[int] | None = None, **fields: object
) -> Record:
    rows = fields.pop("line_items", [])
    return Record(
        doc_type=doc_type,  # type: ignore[arg-type]
        pages=pages or [1],
        fields={k: FieldValue(value=v) for k, v in fields.items()},  # type: ignore[arg-type]
        line_items=[{k: FieldValue(value=v) for k, v in r.items()} for r in rows],  # type: ignore[attr-defined]
    )


def outcomes(truth: Record, pred: Record | None) -> dict[str, str]:
    return {r.key: r.outcome for r in compare_records(truth, pred)}


def test_identical_values_are_exact() -> None:
    truth = rec(invoice_number="INV-1", total=150.5, invoice_date="2026-01-31")
    assert set(outcomes(truth, truth).values()) == {"exact"}


@pytest.mark.parametrize(
    ("key", "truth", "pred"),
    [
        ("invoice_date", "2026-01-31", "31/01/2026"),
        ("invoice_date", "2026-01-31", "31.01.2026"),
        ("invoice_date", "2026-01-31", "31 Jan 2026"),
        ("total", 1234.56, "1.234,56"),
        ("total", 1234.56, "EUR 1,234.56"),
        ("total", 1234.56, "1 234,56"),
        ("total", 1234.56, 1234.561),
        ("seller.country", "NL", "Nederland"),
        ("seller.country", "DE", "Allemagne"),
        ("seller.name", "Van Dijk Trading B.V.", "VAN DIJK TRADING BV"),
        ("seller.name", "Müller Logistik GmbH & Co. KG", "Müller Logistik"),
        ("seller.name", "Zhejiang Hengli Textile Co., Ltd.", "Zhejiang Hengli Textile Co Ltd"),
        ("incoterm_place", "Rotterdam", "  ROTTERDAM "),
        ("seller.address", "Waalhaven 12, 3089 KH Rotterdam", "Waalhaven 12\n3089 KH Rotterdam"),
    ],
)
def test_equivalent_values(key: str, truth: object, pred: object) -> None:
    assert outcomes(rec(**{key: truth}), rec(**{key: pred})) == {key: "equivalent"}


def test_hs_codes_with_dots_are_equivalent() -> None:
    truth = rec(line_items=[{"hs_code": "610910", "amount": 10.0}])
    pred = rec(line_items=[{"hs_code": "6109.10", "amount": 10.0}])
    assert outcomes(truth, pred)["line_items[0].hs_code"] == "equivalent"


@pytest.mark.parametrize(
    ("key", "truth", "pred"),
    [
        ("total", 1234.56, 1240.0),
        ("total", 1234.56, "twelve"),
        ("invoice_date", "2026-01-31", "2026-01-30"),
        ("invoice_date", "2026-01-31", "31/13/2026"),
        ("seller.country", "NL", "BE"),
        ("seller.name", "Van Dijk Trading B.V.", "De Vries Trading B.V."),
        ("currency", "EUR", "USD"),
    ],
)
def test_wrong_values(key: str, truth: object, pred: object) -> None:
    assert outcomes(rec(**{key: truth}), rec(**{key: pred})) == {key: "wrong"}


def test_missing_and_extra_fields() -> None:
    truth = rec(invoice_number="INV-1", freight=12.0)
    pred = rec(invoice_number="INV-1", insurance=3.0, tax="")
    assert outcomes(truth, pred) == {
        "invoice_number": "exact",
        "freight": "missing",
        "insurance": "extra",
    }
    assert set(outcomes(truth, None).values()) == {"missing"}


def test_line_items_are_matched_one_to_one_whatever_their_order() -> None:
    lines = [
        {"description": "LED bulbs E27", "quantity": 100.0, "amount": 250.0},
        {"description": "Ball bearings 6204", "quantity": 40.0, "amount": 88.0},
        {"description": "Hex bolts M12", "quantity": 500.0, "amount": 45.0},
    ]
    truth = rec(line_items=lines)
    shuffled = rec(line_items=[lines[2], lines[0], lines[1]])
    assert set(outcomes(truth, shuffled).values()) == {"exact"}

    # one line dropped, one line with a wrong amount, one invented line
    pred = rec(
        line_items=[
            {"description": "Hex bolts M12", "quantity": 500.0, "amount": 54.0},
            lines[0],
            {"description": "Freight charge", "amount": 99.0},
        ]
    )
    got = outcomes(truth, pred)
    assert got["line_items[0].amount"] == "exact"
    assert got["line_items[2].amount"] == "wrong"
    assert got["line_items[2].description"] == "exact"
    # the bearings line is either unmatched (missing) or matched to the invented line
    bearings = {k: v for k, v in got.items() if k.startswith("line_items[1].")}
    assert bearings["line_items[1].quantity"] == "missing"
    assert "wrong" in bearings.values() or "missing" in bearings.values()


def test_a_prediction_of_another_doc_type_scores_nothing() -> None:
    truth = rec(invoice_number="INV-1")
    pred = rec(doc_type="packing_list", packing_list_number="INV-1")
    got = outcomes(truth, pred)
    assert got == {"invoice_number": "missing", "packing_list_number": "extra"}


def test_splitting_scores_page_groups_and_types() -> None:
    truth = FileRecords(
        file="x.pdf",
        documents=[
            rec("commercial_invoice", [1, 2], invoice_number="A"),
            rec("packing_list", [3], packing_list_number="B"),
        ],
    )
    _, split = score_file(truth, truth)
    assert (split.page_group_accuracy, split.doc_type_accuracy) == (1.0, 1.0)

    merged = FileRecords(file="x.pdf", documents=[rec("commercial_invoice", [1, 2, 3])])
    results, split = score_file(truth, merged)
    assert split.page_groups_exact == 0
    assert split.doc_type_correct == 1
    assert {r.key: r.outcome for r in results}["packing_list_number"] == "missing"

    mislabelled = FileRecords(
        file="x.pdf",
        documents=[
            rec("commercial_invoice", [1, 2], invoice_number="A"),
            rec("customs_declaration", [3]),
        ],
    )
    _, split = score_file(truth, mislabelled)
    assert (split.page_groups_exact, split.doc_type_correct) == (2, 1)


def test_score_folders_reports_per_type_and_files_without_prediction(tmp_path: Path) -> None:
    golden, preds = tmp_path / "golden", tmp_path / "pred"
    golden.mkdir()
    preds.mkdir()
    a = FileRecords(file="a.pdf", documents=[rec(invoice_number="A", total=10.0)])
    b = FileRecords(file="b.png", documents=[rec("packing_list", total_packages=3)])
    (golden / "a.json").write_text(a.model_dump_json())
    (golden / "b.json").write_text(b.model_dump_json())
    # a bare record is accepted as the prediction of a one-document file
    (preds / "a.json").write_text(rec(invoice_number="A", total="10,00").model_dump_json())

    report = score_folders(golden, preds)
    assert report.files == 2
    inv = report.by_doc_type["commercial_invoice"].micro.counts
    assert (inv.exact, inv.equivalent) == (1, 1)
    assert report.by_doc_type["packing_list"].micro.counts.missing == 1
    assert report.splitting.counts.files_without_prediction == 1
    assert report.overall.micro.recall == pytest.approx(2 / 3, abs=1e-3)
    assert report.by_field["commercial_invoice"]["total"].counts.equivalent == 1
    json.loads(report.model_dump_json())


@pytest.mark.parametrize(
    ("text", "value"),
    [("1,234.56", 1234.56), ("1.234,56", 1234.56), ("1 234,5", 1234.5), ("1.234.567", 1234567.0),
     ("12,5", 12.5), ("1,234", 1234.0), ("USD 99", 99.0), ("abc", None)],
)  # fmt: skip
def test_parse_number(text: str, value: float | None) -> None:
    assert parse_number(text) == value


def test_parse_date_and_compare_kinds() -> None:
    assert parse_date("07.06.2025") == parse_date("2025-06-07")
    assert parse_date("June 7, 2025") == parse_date("07-06-2025")
    assert compare("integer", 3, 3.0) == "exact"
    assert compare("code", "84212300", "8421 23 00") == "equivalent"


def test_predictions_may_be_the_json_lines_of_shipdoc_extract(tmp_path: Path) -> None:
    golden, preds = tmp_path / "golden", tmp_path / "pred"
    golden.mkdir()
    preds.mkdir()
    truth = FileRecords(
        file="ab.pdf",
        documents=[
            rec("commercial_invoice", [1], invoice_number="A"),
            rec("packing_list", [2], packing_list_number="P"),
        ],
    )
    (golden / "ab.json").write_text(truth.model_dump_json())
    lines = [
        {"file": "ab.pdf", "pages": d.pages, "doc_type": d.doc_type,
         "record": d.model_dump(exclude={"pages"}), "status": "extracted"}
        for d in truth.documents
    ]  # fmt: skip
    (preds / "ab.json").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    report = score_folders(golden, preds)
    assert report.overall.micro.accuracy == 1.0
    assert report.splitting.page_group_accuracy == 1.0

    (preds / "ab.json").write_text("{not json")
    with pytest.raises(InputError, match="not a prediction"):
        score_folders(golden, preds)
