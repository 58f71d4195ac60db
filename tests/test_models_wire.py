"""What the backends send: the OpenAI wire messages and llama-cpp-python's arguments."""

from __future__ import annotations

from pathlib import Path

from agent.models.base import ChatRequest, Message, ToolCall, ToolSpec
from agent.models.llama_local import LlamaLocalModel
from agent.models.wire import content_and_calls, messages_to_wire

CALL = ToolCall(id="c1", name="get_page", arguments_json='{"page": 2}')
TOOL = ToolSpec(
    name="get_page",
    description="d",
    parameters={"type": "object", "properties": {"page": {"type": "integer", "minimum": 1}}},
)


def test_assistant_tool_call_message_has_empty_string_content() -> None:
    wire = messages_to_wire([Message(role="assistant", tool_calls=[CALL])])
    assert wire[0]["content"] == ""
    assert wire[0]["tool_calls"][0]["function"]["arguments"] == '{"page": 2}'
    as_object = messages_to_wire(
        [Message(role="assistant", tool_calls=[CALL])], arguments_as_object=True
    )
    assert as_object[0]["tool_calls"][0]["function"]["arguments"] == {"page": 2}


def test_plain_messages_carry_no_tool_fields() -> None:
    assert messages_to_wire([Message(role="user", content="x")]) == [
        {"role": "user", "content": "x"}
    ]


def _local() -> LlamaLocalModel:
    # Building the arguments does not load the model.
    return LlamaLocalModel(path=Path("/nonexistent.gguf"), name="m")


def test_in_process_keeps_tools_in_the_prompt_when_they_are_not_allowed() -> None:
    kwargs = _local().request_kwargs(
        ChatRequest(messages=[Message(role="user", content="x")], tools=[TOOL], tool_choice="none")
    )
    assert kwargs["tool_choice"] == "none"
    # Stripped for llama.cpp's grammar conversion.
    assert kwargs["tools"][0]["function"]["parameters"]["properties"]["page"] == {"type": "integer"}


def test_in_process_required_with_one_tool_names_it_and_output_uses_json_object() -> None:
    kwargs = _local().request_kwargs(
        ChatRequest(
            messages=[Message(role="user", content="x")],
            tools=[TOOL],
            tool_choice="required",
            json_schema={
                "type": "object",
                "properties": {"a": {"type": "string", "format": "date"}},
            },
        )
    )
    assert kwargs["tool_choice"] == {"type": "function", "function": {"name": "get_page"}}
    assert kwargs["response_format"] == {
        "type": "json_object",
        "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
    }


def test_calls_in_text_are_recovered_only_when_tools_are_allowed() -> None:
    text = '{"name": "get_page", "arguments": {"page": 2}}'
    request = ChatRequest(messages=[], tools=[TOOL])
    _, calls, _ = content_and_calls(request, text, [])
    assert [c.name for c in calls] == ["get_page"]
    for other in (
        request.model_copy(update={"tool_choice": "none"}),
        request.model_copy(update={"tools": []}),
        request.model_copy(update={"json_schema": {"type": "object"}}),
    ):
        assert content_and_calls(other, text, []) == (text, [], [])
