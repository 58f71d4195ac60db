"""Structured output: ask for JSON matching a pydantic model, validate, repair once or twice.

A reply that is not valid JSON or does not validate gets a bounded number of repair
requests, each telling the model exactly what was wrong; after that
``ModelOutputInvalid`` is raised, carrying every response so that tokens stay accounted.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from agent.models.base import ChatModel, ChatRequest, ChatResponse, Message, ModelOutputInvalid
from agent.models.toolcall_parse import strip_code_fence

T = TypeVar("T", bound=BaseModel)

_MAX_LISTED_ERRORS = 20


def validation_errors(text: str, output_type: type[BaseModel]) -> list[str]:
    """What is wrong with ``text`` as an ``output_type``; empty when it validates."""
    try:
        output_type.model_validate_json(strip_code_fence(text))
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False)[:_MAX_LISTED_ERRORS]:
            where = ".".join(str(p) for p in err["loc"]) or "(root)"
            problems.append(f"{where}: {err['msg']}")
        return problems
    return []


def _repair_message(response: ChatResponse, errors: list[str]) -> Message:
    lines = ["Your reply did not match the required JSON schema:"]
    lines += [f"- {e}" for e in errors]
    if response.finish_reason == "length":
        lines.append("- the reply was cut off at the token limit; keep it shorter")
    lines.append("Reply again with only the corrected JSON object, nothing else.")
    return Message(role="user", content="\n".join(lines))


def complete_structured(
    model: ChatModel,
    request: ChatRequest,
    output_type: type[T],
    max_repairs: int = 1,
) -> tuple[T, list[ChatResponse]]:
    """The validated reply and every response it took (the first plus any repairs)."""
    if request.json_schema is None:
        request = request.model_copy(
            update={
                "json_schema": output_type.model_json_schema(),
                "json_schema_name": output_type.__name__,
            }
        )
    responses: list[ChatResponse] = []
    messages = list(request.messages)
    errors: list[str] = []
    for _attempt in range(max_repairs + 1):
        response = model.chat(request.model_copy(update={"messages": messages}))
        responses.append(response)
        errors = validation_errors(response.content, output_type)
        if not errors:
            return output_type.model_validate_json(strip_code_fence(response.content)), responses
        messages = [
            *messages,
            Message(role="assistant", content=response.content),
            _repair_message(response, errors),
        ]
    raise ModelOutputInvalid(
        f"{model.name}: output did not validate as {output_type.__name__} after "
        f"{max_repairs} repair request(s): " + "; ".join(errors[:5]),
        responses=responses,
    )
