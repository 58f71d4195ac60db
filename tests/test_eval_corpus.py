"""The corpus generator: deterministic, real-world-valid values, the variety the issue asks
for, and the committed golden ground truth."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from core.records import Record
from core.settings import get_settings
from evals.corpus import GroundTruth, build_item, demo_documents, generate_corpus, plan_item
from evals.goldenset import GOLDEN_CORPUS, load_golden_truth
from evals.refdata import COUNTRIES, PLACES, is_valid_container_number, iso6346_check_digit, mrn
from kb.ingest import data_dir

ISO_4217 = {"EUR", "USD", "GBP", "CNY", "JPY", "INR", "TRY", "PLN", "CHF"}


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[GroundTruth]:
    out = tmp_path_factory.mktemp("corpus")
    summary = generate_corpus(out, 24, seed=11)
    assert summary.files == 24
    return [GroundTruth.model_validate_json(p.read_bytes()) for p in sorted(out.glob("*.json"))]


def _hs6() -> set[str]:
    path = data_dir(get_settings()) / "hs2022" / "harmonized-system.csv"
    with path.open(encoding="utf-8") as fh:
        return {r["hscode"] for r in csv.DictReader(fh) if r["level"] == "6"}


def _cn8() -> set[str]:
    path = data_dir(get_settings()) / "eu-cn-2026" / "cnCodes_2026.json"
    return {r["code"] for r in json.loads(path.read_text(encoding="utf-8"))}


def test_same_seed_same_bytes_and_truth_other_seed_other_documents() -> None:
    for index in (0, 3, 9):  # an invoice, a declaration, a multi-document file
        spec = plan_item(5, index)
        first, second = build_item(spec), build_item(plan_item(5, index))
        assert first[0] == second[0]
        assert first[1] == second[1]
    assert build_item(plan_item(6, 0))[1] != build_item(plan_item(5, 0))[1]


def test_scans_are_deterministic_images() -> None:
    index = next(i for i in range(40) if plan_item(8, i).scan_format in ("png", "jpg", "tiff"))
    spec = plan_item(8, index)
    data, truth = build_item(spec)
    assert data == build_item(spec)[0]
    img = Image.open(io.BytesIO(data))
    assert img.format in ("PNG", "JPEG", "TIFF")
    assert truth.media_type.startswith("image/")
    assert all(p.box is None for d in truth.documents for v in d.fields.values()
               if (p := v.provenance) is not None)  # fmt: skip


def test_iso6346_and_mrn_check_digits() -> None:
    assert iso6346_check_digit("CSQU305438") == 3  # the standard's own example
    assert is_valid_container_number("CSQU3054383")
    assert not is_valid_container_number("CSQU3054384")
    code = mrn(2026, "NL", "ABC123DEF456", "A")
    assert len(code) == 18 and code.startswith("26NL")
    assert iso6346_check_digit(code[:17]) == int(code[17])


def _values(record: Record, table: str, key: str) -> list[object]:
    return [row[key].value for row in getattr(record, table) if key in row]


def test_values_are_valid_in_the_real_world(small_corpus: list[GroundTruth]) -> None:
    hs6, cn8, locodes = _hs6(), _cn8(), {p.locode for p in PLACES}
    docs = [d for t in small_corpus for d in t.documents]
    for doc in docs:
        for key, fv in doc.fields.items():
            if key.endswith("locode"):
                assert fv.value in locodes
            if key.endswith("country") or key.startswith("country_of"):
                assert fv.value in COUNTRIES
            if key == "currency":
                assert fv.value in ISO_4217
        for number in _values(doc, "containers", "number"):
            assert is_valid_container_number(str(number))
        for code in _values(doc, "line_items", "hs_code"):
            assert code in hs6
        for code in _values(doc, "line_items", "commodity_code"):
            assert code in cn8
        if doc.doc_type == "commercial_invoice":
            amounts = _values(doc, "line_items", "amount")
            assert doc.value("subtotal") == pytest.approx(sum(float(str(a)) for a in amounts))
        if doc.doc_type == "customs_declaration":
            code = str(doc.value("mrn"))
            assert iso6346_check_digit(code[:17]) == int(code[17])


def test_documents_carry_provenance_of_what_was_printed(small_corpus: list[GroundTruth]) -> None:
    doc = next(d for t in small_corpus for d in t.documents if d.doc_type == "commercial_invoice")
    for key, fv in doc.fields.items():
        assert fv.provenance is not None and fv.provenance.source_text, key
        assert fv.provenance.page in doc.pages, key


def test_multi_page_documents_have_line_items_on_several_pages() -> None:
    index = next(i for i in range(60) if plan_item(4, i).line_count >= 40
                 and len(plan_item(4, i).doc_types) == 1)  # fmt: skip
    data, truth = build_item(plan_item(4, index))
    (doc,) = truth.documents
    assert len(doc.pages) >= 2
    pages = {row["description"].provenance.page for row in doc.line_items}  # type: ignore[union-attr]
    assert len(pages) >= 2
    assert pymupdf.open("pdf", data).page_count == truth.page_count


def test_multi_document_files_record_their_page_groups() -> None:
    spec = plan_item(5, 9)
    assert len(spec.doc_types) >= 2
    _, truth = build_item(spec)
    groups = [d.pages for d in truth.documents]
    flat = [p for g in groups for p in g]
    assert flat == list(range(1, truth.page_count + 1))
    assert [d.doc_type for d in truth.documents] == spec.doc_types


def test_committed_golden_set_covers_the_issue() -> None:
    truths = load_golden_truth()
    docs = [d for t in truths for d in t.documents]
    assert len(docs) >= 120
    combos = Counter((d.doc_type, t.spec.layout) for t in truths for d in t.documents)
    assert len(combos) == 12  # 4 types x 3 layouts
    assert {t.spec.lang for t in truths} == {"en", "nl", "de", "fr"}
    assert sum(1 for t in truths if t.spec.scan) >= 20
    assert sum(1 for t in truths if len(t.documents) > 1) >= 5
    assert sum(1 for d in docs if len(d.pages) > 1) >= 10
    assert {t.media_type for t in truths} >= {"application/pdf", "image/png", "image/jpeg"}
    assert (GOLDEN_CORPUS / "_summary.json").exists()


def test_demo_documents(tmp_path: Path) -> None:
    paths = demo_documents(tmp_path)
    assert [p.name for p in paths][-1].endswith(".png")
    types = {GroundTruth.model_validate_json(p.with_suffix(".json").read_bytes())
             .documents[0].doc_type for p in paths}  # fmt: skip
    assert types == {"bill_of_lading", "commercial_invoice", "packing_list", "customs_declaration"}
    assert [p.read_bytes() for p in paths] == [
        p.read_bytes() for p in demo_documents(tmp_path / "again")
    ]
