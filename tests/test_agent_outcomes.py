"""Every path out of an extraction run ends in a stored outcome (issue 10, defect 3).

A mistake of the model's (bad tool arguments, also ones that only the tool's own checks
refuse) goes back to it as a tool error; a defect of ours (any other exception, from the
model client, the loop or a tool) ends the run and the document ``failed`` with the code
``internal_error`` and a message; nothing is left ``running`` or ``parsed``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from agent.models.base import (
    ChatRequest,
    ChatResponse,
    ModelOutputInvalid,
    ModelUnavailable,
    ToolCall,
)
from agent.models.scripted import ScriptedModel
from agent.pipeline import extract_document
from agent.tools import TariffOption
from core.db import session_scope
from core.models import AgentRun, Document, Job
from core.settings import AgentSettings, ReliabilitySettings, ServiceSettings, Settings
from tests.agent_support import (
    INVOICE_PAGE,
    TARIFF,
    bad_line,
    calls,
    invoice,
    reply,
    runs,
    store_document,
    tool_call_rows,
)
from tools.tariff import LookupTariffArgs as KbLookupArgs
from workers import processing
from workers.processing import RetryLater, process_document


def _document(url: str, doc_id: int) -> Document:
    with session_scope(url) as session:
        doc = session.get(Document, doc_id)
        assert doc is not None
        session.expunge(doc)
        return doc


class StrictTariff:
    """A tariff that checks its arguments like the knowledge base's (tools/tariff.py)."""

    def exists(self, code: str) -> bool:
        return TARIFF.exists(code)

    def lookup(self, description: str, origin: str | None, top_k: int) -> list[TariffOption]:
        KbLookupArgs(description=description, origin=origin, top_k=top_k)
        return TARIFF.lookup(description, origin, top_k)


class BrokenTariff:
    def exists(self, code: str) -> bool:
        return TARIFF.exists(code)

    def lookup(self, description: str, origin: str | None, top_k: int) -> list[TariffOption]:
        raise KeyError("index corrupted")


def _needs_repair() -> ChatResponse:
    return reply(bad_line())


def test_empty_tariff_description_goes_back_to_the_model(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel(
        [
            _needs_repair(),
            calls(("lookup_tariff", {"description": ""})),
            calls(("lookup_tariff", {"description": "bolts", "origin": "Germany"})),
            calls(("fix_fields", {"fields": {"line_items[0].amount": 250.0}})),
        ]
    )
    outcome = extract_document(doc_id, settings=db, model=model, tariff=StrictTariff())

    assert outcome.status == "extracted"
    [run] = runs(db.database_url, doc_id)
    rows = tool_call_rows(db.database_url, run.id)
    assert [(r.name, r.error is not None) for r in rows] == [
        ("lookup_tariff", True),
        ("lookup_tariff", True),
        ("fix_fields", False),
    ]
    assert "bad arguments for lookup_tariff" in (rows[1].error or "")
    assert rows[1].arguments == {"description": "bolts", "origin": "Germany"}


def test_a_tool_defect_fails_the_run_and_the_document_with_a_typed_code(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel([_needs_repair(), calls(("lookup_tariff", {"description": "bolts"}))])
    outcome = extract_document(doc_id, settings=db, model=model, tariff=BrokenTariff())

    assert outcome.status == "failed"
    doc = _document(db.database_url, doc_id)
    assert doc.error_code == "internal_error"
    assert "KeyError" in (doc.error_message or "")
    [run] = runs(db.database_url, doc_id)
    assert run.outcome == "failed" and run.finished_at is not None
    assert "internal_error" in (run.error or "")
    [row] = tool_call_rows(db.database_url, run.id)
    assert row.name == "lookup_tariff" and "KeyError" in (row.error or "")


def test_a_model_client_defect_fails_the_document_instead_of_raising(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])

    def crash(request: ChatRequest) -> ChatResponse:
        raise TypeError("unexpected reply shape")

    outcome = extract_document(doc_id, settings=db, model=ScriptedModel([crash]), tariff=TARIFF)

    assert outcome.status == "failed"
    assert _document(db.database_url, doc_id).error_code == "internal_error"
    assert [r.outcome for r in runs(db.database_url, doc_id)] == ["failed"]


def test_a_defect_outside_the_loop_fails_the_document(
    db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("classifier bug")

    monkeypatch.setattr("agent.pipeline._classify", broken)
    outcome = extract_document(doc_id, settings=db, model=ScriptedModel([]), tariff=TARIFF)
    doc = _document(db.database_url, doc_id)
    assert (outcome.status, doc.error_code) == ("failed", "internal_error")
    assert "classifier bug" in (doc.error_message or "")


def test_calls_after_a_write_back_in_the_same_reply_are_logged(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel(
        [
            _needs_repair(),
            calls(("fix_fields", {"fields": {}}), ("fix_fields", {"fields": {"x": 1}})),
        ]
    )
    extract_document(doc_id, settings=db, model=model, tariff=TARIFF)
    [run] = runs(db.database_url, doc_id)
    rows = tool_call_rows(db.database_url, run.id)
    assert [r.name for r in rows] == ["fix_fields", "fix_fields"]
    assert rows[0].error is None
    assert "already written" in (rows[1].error or "")
    assert rows[1].arguments == {"fields": {"x": 1}}


def test_refused_calls_keep_their_arguments_in_the_log(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel(
        [
            _needs_repair(),
            calls(("no_such_tool", {"doc": 7}), ("get_page", "{not json")),
            calls(("fix_fields", {"fields": {}})),
        ]
    )
    extract_document(doc_id, settings=db, model=model, tariff=TARIFF)
    [run] = runs(db.database_url, doc_id)
    rows = tool_call_rows(db.database_url, run.id)
    assert rows[0].arguments == {"doc": 7} and "unknown tool" in (rows[0].error or "")
    assert rows[1].arguments == {"_raw": "{not json"} and rows[1].error


def test_the_cli_prints_one_line_for_a_defect(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app import cli

    def boom() -> None:
        raise RuntimeError("page count unreadable")

    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert err.strip().splitlines() == [
        "error: internal_error: RuntimeError: page count unreadable"
    ]


# --- property: random model replies never leave a non-final row -------------------------

TOOL_NAMES = st.sampled_from(["lookup_tariff", "fix_fields", "get_page", "write_back", "x"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
ARGUMENTS = st.one_of(
    st.dictionaries(
        st.sampled_from(["description", "origin", "page", "fields", "record", "other"]),
        JSON_VALUES,
        max_size=3,
    ).map(json.dumps),
    st.builds(
        lambda r: json.dumps({"fields": r}),
        st.sampled_from([{}, {"total": 1.0}, {"line_items[0].amount": 250.0}, {"nope": 1}]),
    ),
    st.text(max_size=30),
)
CALL = st.builds(
    lambda name, args, n: ToolCall(id=f"c{n}", name=name, arguments_json=args),
    TOOL_NAMES,
    ARGUMENTS,
    st.integers(0, 10_000),
)


class Boom(Exception):
    pass


def _raise(exc: Exception) -> Any:
    def step(request: ChatRequest) -> ChatResponse:
        raise exc

    return step


STEP = st.one_of(
    st.builds(
        lambda cs: ChatResponse(tool_calls=cs, model="s", backend="s", finish_reason="tool_calls"),
        st.lists(CALL, min_size=1, max_size=3),
    ),
    st.builds(lambda r: reply(r), st.sampled_from([invoice(), invoice(total=3000.0), {"a": 1}])),
    st.builds(lambda r: reply(r, finish_reason="length"), st.just(invoice())),
    st.text(max_size=40),
    st.sampled_from(
        [
            ModelUnavailable("502 from the model server"),
            ModelOutputInvalid("garbage"),
            _raise(Boom("client bug")),
            _raise(RecursionError("deep")),
        ]
    ),
)


def _final_state(url: str, doc_id: int) -> tuple[str, str, list[str]]:
    with session_scope(url) as session:
        doc = session.get(Document, doc_id)
        job = session.scalars(sa.select(Job).where(Job.document_id == doc_id)).one()
        outcomes = session.scalars(
            sa.select(AgentRun.outcome).where(AgentRun.document_id == doc_id)
        ).all()
        assert doc is not None
        return doc.status, job.state, list(outcomes)


@pytest.mark.slow
def test_random_model_replies_always_end_in_a_stored_outcome(
    db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = db.model_copy(
        update={
            "agent": AgentSettings(max_requests=6, max_tool_errors=3),
            "service": ServiceSettings(max_attempts=2),
            "reliability": ReliabilitySettings(model_outage_budget_s=0),
        }
    )
    ran = {"n": 0}

    @hsettings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(steps=st.lists(STEP, max_size=10))
    def run(steps: list[Any]) -> None:
        ran["n"] += 1
        doc_id = store_document(settings.database_url, [INVOICE_PAGE])
        model = ScriptedModel(steps)
        monkeypatch.setattr("agent.pipeline.shared_model", lambda s: model)
        monkeypatch.setattr("agent.pipeline.KbTariff", lambda s: StrictTariff())
        for _ in range(settings.service.max_attempts + 1):
            try:
                process_document(doc_id, settings=settings, worker="prop")
                break
            except RetryLater:
                continue
        status, job_state, outcomes = _final_state(settings.database_url, doc_id)
        assert status in processing.FINAL_STATUSES, (status, steps)
        assert job_state in ("done", "failed"), job_state
        assert "running" not in outcomes

    run()
    assert ran["n"] >= 50


def test_page_grouping_cannot_multiply_the_documents_budget(db: Settings) -> None:
    page = INVOICE_PAGE + "\nPage 1 of 1\n"
    doc_id = store_document(db.database_url, [page] * 12)
    settings = db.model_copy(
        update={
            "reliability": ReliabilitySettings(
                max_pages_per_document=3, max_requests_per_document=5
            )
        }
    )
    model = ScriptedModel([lambda request: reply(invoice())] * 100)
    outcome = extract_document(doc_id, settings=settings, model=model, tariff=TARIFF)

    assert len(model.requests) <= 5
    assert outcome.status == "needs_review"
    budget = [r for r in outcome.records if any(i["code"] == "budget" for i in r.issues)]
    assert len(outcome.records) == 12 and len(budget) >= 9
    assert all(r.status == "needs_review" for r in budget)
