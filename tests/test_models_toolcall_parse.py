"""Tool calls written into a reply's text, in every form seen from llama.cpp and vLLM."""

from __future__ import annotations

import json

import pytest

from agent.models.toolcall_parse import parse_tool_calls, strip_code_fence


def test_hermes_tagged_call_is_recovered_and_removed_from_text() -> None:
    content = (
        "Let me look that up.\n<tool_call>\n"
        '{"name": "lookup_tariff", "arguments": {"description": "frozen shrimp"}}\n'
        "</tool_call>"
    )
    parsed = parse_tool_calls(content)
    assert parsed.text == "Let me look that up."
    assert [(c.name, c.arguments()) for c in parsed.tool_calls] == [
        ("lookup_tariff", {"description": "frozen shrimp"})
    ]
    assert parsed.errors == []


def test_several_tagged_calls_keep_their_order_and_get_distinct_ids() -> None:
    content = (
        '<tool_call>{"name": "get_page", "arguments": {"page": 2}}</tool_call>\n'
        '<tool_call>{"name": "get_page", "arguments": {"page": 3}}</tool_call>'
    )
    parsed = parse_tool_calls(content)
    assert [c.arguments()["page"] for c in parsed.tool_calls] == [2, 3]
    assert len({c.id for c in parsed.tool_calls}) == 2
    assert parsed.text == ""


def test_unclosed_tag_at_end_of_reply_still_parses() -> None:
    # Generation stopped on the end-of-turn token before the closing tag.
    parsed = parse_tool_calls('<tool_call>\n{"name": "validate_record", "arguments": {}}')
    assert [c.name for c in parsed.tool_calls] == ["validate_record"]
    assert parsed.tool_calls[0].arguments() == {}


def test_bare_json_call_and_code_fenced_call() -> None:
    bare = parse_tool_calls('{"name": "lookup_tariff", "arguments": {"description": "tea"}}')
    fenced = parse_tool_calls(
        '```json\n{"name": "lookup_tariff", "arguments": {"description": "tea"}}\n```'
    )
    for parsed in (bare, fenced):
        assert [(c.name, c.arguments()) for c in parsed.tool_calls] == [
            ("lookup_tariff", {"description": "tea"})
        ]
        assert parsed.text == ""


def test_arguments_as_json_string_parameters_alias_and_openai_wrapper() -> None:
    as_string = parse_tool_calls('{"name": "get_page", "arguments": "{\\"page\\": 1}"}')
    alias = parse_tool_calls('{"name": "get_page", "parameters": {"page": 1}}')
    wrapped = parse_tool_calls(
        '{"id": "abc", "type": "function", '
        '"function": {"name": "get_page", "arguments": "{\\"page\\": 1}"}}'
    )
    for parsed in (as_string, alias, wrapped):
        assert [(c.name, c.arguments()) for c in parsed.tool_calls] == [("get_page", {"page": 1})]
    assert wrapped.tool_calls[0].id == "abc"


def test_list_of_calls_and_calls_on_consecutive_lines() -> None:
    listed = parse_tool_calls(
        '[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"x": 1}}]'
    )
    lines = parse_tool_calls('{"name": "a", "arguments": {}}\n{"name": "b", "arguments": {"x": 1}}')
    for parsed in (listed, lines):
        assert [c.name for c in parsed.tool_calls] == ["a", "b"]


@pytest.mark.parametrize(
    "content",
    [
        # A structured record is not a call, even with a "name" field.
        '{"name": "ACME Ltd", "address": "1 Dock Rd"}',
        '{"invoice_number": "INV-1", "total": 10.5}',
        "The HS code is 0306.17.",
        "",
        "{}",
        "[]",
        '{"name": "get_page", "arguments": [1, 2]}',
        '{"name": "", "arguments": {}}',
        '{"name": "a", "arguments": {}} and then some prose',
    ],
)
def test_text_that_is_not_a_call_is_left_alone(content: str) -> None:
    parsed = parse_tool_calls(content)
    assert parsed.tool_calls == []
    assert parsed.text == content
    assert parsed.errors == []


@pytest.mark.parametrize(
    "block",
    [
        '{"name": "lookup_tariff", "arguments": {"description": "tea"',  # truncated
        '{"name": "lookup_tariff", "arguments": "{not json"}',
        "lookup_tariff(description='tea')",
        '{"arguments": {"description": "tea"}}',
    ],
)
def test_malformed_tagged_call_is_kept_and_reported(block: str) -> None:
    content = f"<tool_call>{block}</tool_call>"
    parsed = parse_tool_calls(content)
    assert parsed.tool_calls == []
    assert parsed.text == content
    assert len(parsed.errors) == 1
    assert "could not parse tool call" in parsed.errors[0]


def test_good_and_malformed_tagged_calls_together() -> None:
    content = (
        '<tool_call>{"name": "get_page", "arguments": {"page": 1}}</tool_call>'
        "<tool_call>{broken</tool_call>"
    )
    parsed = parse_tool_calls(content)
    assert [c.name for c in parsed.tool_calls] == ["get_page"]
    assert parsed.text == "<tool_call>{broken</tool_call>"
    assert len(parsed.errors) == 1


def test_non_ascii_arguments_survive() -> None:
    parsed = parse_tool_calls(
        '{"name": "lookup_tariff", "arguments": {"description": "Käse, Brötchen"}}'
    )
    assert json.loads(parsed.tool_calls[0].arguments_json) == {"description": "Käse, Brötchen"}


def test_strip_code_fence() -> None:
    assert strip_code_fence('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert strip_code_fence("```\n[1]\n```") == "[1]"
    assert strip_code_fence('  {"a": 1}  ') == '{"a": 1}'
