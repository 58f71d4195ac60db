"""Record schemas: the values shape a model fills and the envelope records are kept in."""

from __future__ import annotations

import json

import pytest

from core.records import (
    DOC_TYPES,
    BillOfLadingLine,
    BillOfLadingValues,
    CommercialInvoiceValues,
    Container,
    FileRecords,
    InvoiceLine,
    Location,
    Party,
    Provenance,
    Record,
    record_to_values,
    values_json_schema,
    values_to_record,
)


def _bill() -> BillOfLadingValues:
    return BillOfLadingValues(
        bl_number="MEDUAB123456",
        shipper=Party(
            name="Van Dijk Trading B.V.", address="Waalhaven 12, Rotterdam", country="NL"
        ),
        port_of_loading=Location(name="Rotterdam", locode="NLRTM"),
        containers=[Container(number="MSCU1234565", seal="SL998877", size_type="45G1")],
        line_items=[
            BillOfLadingLine(description="office chairs", package_count=40, gross_weight_kg=812.5)
        ],
        number_of_originals=3,
    )


def test_values_round_trip_through_the_envelope_with_provenance() -> None:
    prov = {"shipper.name": Provenance(page=1, source_text="VAN DIJK TRADING B.V.")}
    record = values_to_record(
        "bill_of_lading",
        _bill(),
        pages=[1, 2],
        provenance=prov,
        confidence={"line_items[0].gross_weight_kg": 0.7},
    )
    assert record.fields["shipper.name"].value == "Van Dijk Trading B.V."
    assert record.fields["shipper.name"].provenance == prov["shipper.name"]
    assert record.fields["port_of_loading.locode"].value == "NLRTM"
    assert "consignee.name" not in record.fields  # nulls are absent, not stored
    assert record.line_items[0]["gross_weight_kg"].confidence == 0.7
    assert record.containers[0]["number"].value == "MSCU1234565"
    assert record.schema_version == "1.0"

    again = Record.model_validate_json(record.model_dump_json())
    assert again == record
    assert record_to_values(again) == _bill()


def test_invoice_record_has_no_containers_and_converts_back() -> None:
    values = CommercialInvoiceValues(
        invoice_number="INV-1",
        currency="EUR",
        line_items=[InvoiceLine(description="bolts", quantity=10, unit_price=1.5, amount=15.0)],
        total=15.0,
    )
    record = values_to_record("commercial_invoice", values)
    assert record.containers == []
    assert record.value("total") == 15.0
    assert record_to_values(record) == values


def test_wrong_values_model_for_the_doc_type_is_refused() -> None:
    with pytest.raises(TypeError):
        values_to_record("packing_list", _bill())


@pytest.mark.parametrize("doc_type", DOC_TYPES)
def test_values_schema_is_plain_enough_for_a_small_model(doc_type: str) -> None:
    schema = values_json_schema(doc_type)  # type: ignore[arg-type]
    text = json.dumps(schema)
    assert "pattern" not in text
    assert schema["type"] == "object"
    assert "line_items" in schema["properties"]
    assert not schema.get("required")


def test_file_records_holds_several_documents() -> None:
    both = FileRecords(
        file="x.pdf",
        documents=[
            values_to_record("bill_of_lading", _bill(), pages=[1]),
            values_to_record("commercial_invoice", CommercialInvoiceValues(), pages=[2, 3]),
        ],
    )
    loaded = FileRecords.model_validate_json(both.model_dump_json())
    assert [d.pages for d in loaded.documents] == [[1], [2, 3]]
