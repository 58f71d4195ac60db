"""Schema keywords a backend cannot take are stripped; names and structure survive."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from agent.models.schema import LLAMA_CPP_UNSUPPORTED, response_format, strip_schema


class Line(BaseModel):
    hs_code: Annotated[str, Field(pattern=r"^\d{4}\.\d{2}$")]
    quantity: Annotated[float, Field(ge=0)]


class Invoice(BaseModel):
    invoice_number: Annotated[str, Field(pattern=r"^[A-Z]+\.\d+$")]
    issue_date: Annotated[str, Field(json_schema_extra={"format": "date"})]
    format: str  # a field whose name is a schema keyword
    lines: list[Line]
    consignee: Line | None = None


def _keys(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            found |= _keys(value)
    elif isinstance(node, list):
        for item in node:
            found |= _keys(item)
    return found


def test_llama_cpp_form_has_no_pattern_or_format_anywhere() -> None:
    schema = Invoice.model_json_schema()
    assert {"pattern", "format", "minimum"} <= _keys(schema)
    sent = response_format("json_object", schema, "Invoice")
    assert sent["type"] == "json_object"
    stripped_keys = _keys(sent["schema"])
    assert not (stripped_keys - {"format"}) & LLAMA_CPP_UNSUPPORTED
    # "format" survives only as the property name, never as a keyword.
    assert "format" in sent["schema"]["properties"]
    assert "format" not in sent["schema"]["properties"]["issue_date"]
    assert sent["schema"]["properties"]["format"] == {"title": "Format", "type": "string"}


def test_structure_is_kept_through_defs_refs_and_anyof() -> None:
    schema = Invoice.model_json_schema()
    stripped = strip_schema(schema, LLAMA_CPP_UNSUPPORTED)
    assert stripped["required"] == schema["required"]
    assert stripped["$defs"]["Line"]["properties"]["hs_code"] == {
        "title": "Hs Code",
        "type": "string",
    }
    assert stripped["properties"]["lines"]["items"] == {"$ref": "#/$defs/Line"}
    assert stripped["properties"]["consignee"]["anyOf"] == [
        {"$ref": "#/$defs/Line"},
        {"type": "null"},
    ]
    # The input is not modified.
    assert "pattern" in schema["$defs"]["Line"]["properties"]["hs_code"]


def test_openai_form_sends_the_full_schema() -> None:
    schema = Invoice.model_json_schema()
    sent = response_format("json_schema", schema, "Invoice")
    assert sent == {"type": "json_schema", "json_schema": {"name": "Invoice", "schema": schema}}
