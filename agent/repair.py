"""The repair loop: the model gets validation's issues and the tools until it saves a fix.

It runs only for issues a model can fix by reading the page again (a misread number, a
container number that fails its check digit and is not printed that way); never for ones
it cannot (a code the document prints that the tariff does not know, a field the document
does not print, a container number printed with a wrong check digit): agent/loop.repairable.

The model writes a patch, not the record: ``fix_fields`` names only the fields to change
(``{"line_items[0].amount": 250.0}``), laid over the first extraction with the one record
merge (core/records ``patch_values`` / ``overlay``) and validated again as it is written.
A path that names no field goes back to the model as a tool error. A reply with neither a
tool call nor fields is the model declining (``Declined``): asking again got nothing on the
1.5B model (each such run spent its whole tool-error bound, 3 more requests of 30-100 s,
and ended at the bound with the first record), so the first record goes to review at once.
A bound of the run ends it (``BoundHit`` from ``Metered``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agent.metering import BoundHit, Metered
from agent.models.base import ChatRequest, ChatResponse, Message, ToolCall
from agent.models.toolcall_parse import strip_code_fence
from agent.prompting import record_json, render_document, render_issues, system_prompt
from agent.tools import REPAIR_TOOLS, ToolContext, execute, refused, tool_specs
from agent.windows import estimate_tokens
from core.settings import AgentSettings
from tools.validate import Issue
from tools.writeback import ToolCallLog

# A patch of a few fields needs far fewer tokens than a record; a reply that runs past
# this is writing the record out again, and is cut.
PATCH_TOKENS = 512


class Declined(Exception):
    """The model answered the repair request without a fix."""


@dataclass
class Repair:
    model: Metered
    ctx: ToolContext
    limits: AgentSettings
    logs: list[ToolCallLog]
    tool_errors: int = 0

    def run(self, values: dict[str, Any], issues: list[Issue]) -> None:
        """Loop until the model calls write_back; raises BoundHit when a bound is reached."""
        doc = render_document(self.ctx.pages)
        record = record_json(values)
        # The record rides along in the prompt: a long table (59 rows) beside its document
        # overflowed the model's context, so the pair, not the document alone, must fit.
        if estimate_tokens(doc) + estimate_tokens(record) > self.limits.window_tokens:
            first, last = self.ctx.target.page_first, self.ctx.target.page_last
            doc = f"The document has pages {first} to {last}; read them with get_page."
        messages = [
            Message(role="system", content=system_prompt(self.ctx.target.doc_type)),
            Message(role="user", content=doc),
            Message(role="assistant", content=record),
            Message(role="user", content=render_issues(issues)),
        ]
        while self.ctx.written is None:
            response = self.model.chat(
                ChatRequest(
                    messages=messages,
                    tools=tool_specs(REPAIR_TOOLS),
                    tool_choice="auto",
                    max_tokens=min(self.limits.output_tokens, PATCH_TOKENS),
                )
            )
            messages += self._answer(response)

    def _answer(self, response: ChatResponse) -> list[Message]:
        calls = list(response.tool_calls)
        if not calls:
            fields = _as_fields(response.content)
            if fields is None:
                said = " ".join(response.content.split())[:120]
                raise Declined(f"the model answered the repair without a fix: {said!r}")
            calls = [pipeline_call("fix_fields", {"fields": fields}, len(self.logs))]
        out = [Message(role="assistant", content=response.content, tool_calls=calls)]
        for call in calls:
            content, log = execute(self.ctx, call, REPAIR_TOOLS)
            self.logs.append(log)
            if log.error is not None:
                self._bad(log.error)
            out.append(Message(role="tool", content=content, tool_call_id=call.id, name=call.name))
            if self.ctx.written is not None:
                self._skipped(calls[calls.index(call) + 1 :])
                break
        return out

    def _skipped(self, calls: list[ToolCall]) -> None:
        """Calls after the write_back of a reply are not run, but they are logged."""
        for call in calls:
            self.logs.append(refused(call, "not run: the record was already written in this reply"))

    def _bad(self, what: str) -> None:
        self.tool_errors += 1
        if self.tool_errors > self.limits.max_tool_errors:
            raise BoundHit(f"more than {self.limits.max_tool_errors} bad tool calls ({what})")


def _as_fields(content: str) -> dict[str, Any] | None:
    """The fix a reply wrote as text: ``{"fields": {...}}``, or the paths themselves; a
    nested object (a record written out again) is read as the paths of its leaves."""
    try:
        value = json.loads(strip_code_fence(content))
    except json.JSONDecodeError:
        return None
    if isinstance(value, dict) and isinstance(value.get("fields"), dict):
        value = value["fields"]
    if not isinstance(value, dict) or "name" in value:
        return None
    return dict(_leaves(value, ""))


def _leaves(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and path:
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def pipeline_call(name: str, arguments: dict[str, Any], seq: int) -> ToolCall:
    return ToolCall(id=f"pipeline-{seq}", name=name, arguments_json=json.dumps(arguments))
