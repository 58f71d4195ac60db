"""Structured output with bounded repair, and the scripted backend it is tested with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from agent.models.base import ChatRequest, ChatResponse, Message, ModelOutputInvalid, Usage
from agent.models.scripted import ScriptedModel, ScriptExhausted
from agent.models.structured import complete_structured


class Invoice(BaseModel):
    invoice_number: str
    total: float
    currency: str


def _request() -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content="Invoice INV-7, total EUR 12.50")])


def test_valid_first_reply_needs_one_request_and_asks_for_the_schema() -> None:
    model = ScriptedModel(['{"invoice_number": "INV-7", "total": 12.5, "currency": "EUR"}'])
    invoice, responses = complete_structured(model, _request(), Invoice)
    assert invoice == Invoice(invoice_number="INV-7", total=12.5, currency="EUR")
    assert len(responses) == 1
    assert model.requests[0].json_schema == Invoice.model_json_schema()
    assert model.requests[0].json_schema_name == "Invoice"


def test_code_fenced_reply_is_accepted() -> None:
    model = ScriptedModel(['```json\n{"invoice_number": "A", "total": 1, "currency": "USD"}\n```'])
    invoice, _ = complete_structured(model, _request(), Invoice)
    assert invoice.currency == "USD"


def test_invalid_reply_gets_one_repair_request_naming_the_errors() -> None:
    model = ScriptedModel(
        [
            '{"invoice_number": "INV-7", "total": "twelve"}',
            '{"invoice_number": "INV-7", "total": 12.5, "currency": "EUR"}',
        ]
    )
    invoice, responses = complete_structured(model, _request(), Invoice)
    assert invoice.total == 12.5
    assert len(responses) == 2
    repair = model.requests[1].messages
    assert repair[-2].role == "assistant"
    assert repair[-2].content == '{"invoice_number": "INV-7", "total": "twelve"}'
    assert repair[-1].role == "user"
    assert "total:" in repair[-1].content
    assert "currency: Field required" in repair[-1].content


def test_malformed_json_then_still_invalid_raises_with_all_responses() -> None:
    model = ScriptedModel(['{"invoice_number": "INV-7", "total": 12.5,', "no json at all"])
    with pytest.raises(ModelOutputInvalid) as caught:
        complete_structured(model, _request(), Invoice, max_repairs=1)
    assert len(caught.value.responses) == 2
    assert "after 1 repair request" in str(caught.value)
    assert "Invalid JSON" in model.requests[1].messages[-1].content
    # Tokens of failed attempts are still there to account.
    assert sum(r.usage.completion_tokens for r in caught.value.responses) > 0


def test_truncated_reply_is_told_to_be_shorter() -> None:
    cut = ChatResponse(
        content='{"invoice_number": "IN', model="m", backend="b", finish_reason="length"
    )
    model = ScriptedModel([cut, '{"invoice_number": "INV-7", "total": 1, "currency": "EUR"}'])
    complete_structured(model, _request(), Invoice)
    assert "cut off at the token limit" in model.requests[1].messages[-1].content


def test_no_repairs_means_one_request() -> None:
    model = ScriptedModel(["{}", "{}"])
    with pytest.raises(ModelOutputInvalid):
        complete_structured(model, _request(), Invoice, max_repairs=0)
    assert len(model.requests) == 1


def test_script_runs_out_with_a_clear_error() -> None:
    model = ScriptedModel(["only one"])
    model.chat(_request())
    with pytest.raises(ScriptExhausted, match="the script has 1 replies; request 2 has none"):
        model.chat(_request())


def test_callable_steps_see_the_request_and_usage_is_estimated() -> None:
    model = ScriptedModel([lambda req: f"echo {req.messages[-1].content}"])
    reply = model.chat(_request())
    assert reply.content == "echo Invoice INV-7, total EUR 12.50"
    assert reply.usage.prompt_tokens == 8
    assert reply.usage.completion_tokens == 9
    given = ChatResponse(content="x", model="m", backend="b", usage=Usage(prompt_tokens=100))
    assert ScriptedModel([given]).chat(_request()).usage.prompt_tokens == 100


def test_script_from_file_with_tool_calls(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(
        json.dumps(
            [
                {"tool_calls": [{"name": "get_page", "arguments": {"page": 2}}]},
                '{"invoice_number": "A", "total": 1, "currency": "EUR"}',
            ]
        )
    )
    model = ScriptedModel.from_file(path)
    first = model.chat(_request())
    assert [(c.name, c.arguments()) for c in first.tool_calls] == [("get_page", {"page": 2})]
    assert first.finish_reason == "tool_calls"
    assert model.chat(_request()).content.startswith('{"invoice_number"')
