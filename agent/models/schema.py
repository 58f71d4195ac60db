"""JSON schemas as a backend can take them, and the ``response_format`` that carries them.

llama.cpp turns a schema into a grammar and does not support every keyword: a ``pattern``
with ``\\.`` crashed its server (MODELS.md). Keywords a backend cannot take are removed
before sending; the reply is validated against the full schema with pydantic anyway.
"""

from __future__ import annotations

from typing import Any, Literal

StructuredMode = Literal["json_schema", "json_object"]

# Not sent to llama.cpp (server or in process): unsupported or risky in grammar conversion.
LLAMA_CPP_UNSUPPORTED: frozenset[str] = frozenset(
    {
        "pattern",
        "patternProperties",
        "format",
        "multipleOf",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "dependentRequired",
        "dependentSchemas",
        "if",
        "then",
        "else",
        "unevaluatedProperties",
        "unevaluatedItems",
        "discriminator",
        "examples",
    }
)

# Keywords whose value maps names to schemas (the keys are property names, not keywords).
_NAMED_SCHEMAS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
# Keywords whose value is one schema, or a list of schemas.
_ONE_SCHEMA = ("items", "additionalProperties", "not", "contains", "if", "then", "else")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def strip_schema(schema: Any, unsupported: frozenset[str]) -> Any:
    """A copy of ``schema`` without the ``unsupported`` keywords, at every depth.

    Property names are never touched: a field called ``format`` stays a field.
    """
    if isinstance(schema, list):
        return [strip_schema(item, unsupported) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in unsupported:
            continue
        if key in _NAMED_SCHEMAS and isinstance(value, dict):
            out[key] = {name: strip_schema(sub, unsupported) for name, sub in value.items()}
        elif key in _ONE_SCHEMA or key in _SCHEMA_LISTS:
            out[key] = strip_schema(value, unsupported)
        else:
            out[key] = value
    return out


def schema_for(mode: StructuredMode, schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as sent for ``mode``: json_object means a llama.cpp backend."""
    if mode == "json_object":
        stripped: dict[str, Any] = strip_schema(schema, LLAMA_CPP_UNSUPPORTED)
        return stripped
    return schema


def response_format(mode: StructuredMode, schema: dict[str, Any], name: str) -> dict[str, Any]:
    """The ``response_format`` request field for a structured reply.

    json_schema: the OpenAI / vLLM form. json_object: llama.cpp's form, the schema beside
    the type (its server rejects the OpenAI form).
    """
    if mode == "json_object":
        return {"type": "json_object", "schema": schema_for(mode, schema)}
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}
