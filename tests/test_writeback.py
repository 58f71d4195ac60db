"""Write-back on both databases: status from validation, upsert per page group, run rows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.db import session_scope
from tests.agent_support import INVOICE_PAGE, invoice, records, runs, store_document, tool_call_rows
from tools.confidence import Evidence, confidences
from tools.provenance import PageText
from tools.validate import Issue
from tools.writeback import (
    RunTotals,
    ToolCallLog,
    WriteBackArgs,
    WriteTarget,
    finish_run,
    record_tool_calls,
    start_run,
    write_back,
    write_failed,
)

PAGES = [PageText(number=1, text=INVOICE_PAGE)]


def _target(doc_id: int) -> WriteTarget:
    return WriteTarget(document_id=doc_id, page_first=1, page_last=1, doc_type="commercial_invoice")


def test_status_follows_validation_and_rewrites_replace_the_record(db_url: str) -> None:
    doc_id = store_document(db_url, [INVOICE_PAGE])
    with session_scope(db_url) as session:
        first = write_back(
            session, _target(doc_id), WriteBackArgs(record=invoice(total=1.0)), PAGES
        )
    assert first.status == "needs_review"
    assert [i.code for i in first.issues] == ["lines_total"]
    with session_scope(db_url) as session:
        second = write_back(session, _target(doc_id), WriteBackArgs(record=invoice()), PAGES)
    assert second.record_id == first.record_id
    [rec] = records(db_url, doc_id)
    assert (rec.status, rec.issues, rec.data["total"]) == ("extracted", [], 300.0)
    assert rec.provenance["line_items[0].amount"]["source_text"] == "250.00"
    printed = confidences({"x": Evidence(source="text")})["x"]  # printed, nothing else
    assert rec.confidence["buyer.name"] == printed
    assert rec.confidence["incoterm"] == printed


def test_write_back_arguments_cannot_name_a_document_or_a_status() -> None:
    with pytest.raises(ValidationError):
        WriteBackArgs.model_validate({"record": {}, "document_id": 1})
    with pytest.raises(ValidationError):
        WriteBackArgs.model_validate({"record": {}, "status": "extracted"})


def test_extra_issues_keep_a_clean_record_in_review(db_url: str) -> None:
    doc_id = store_document(db_url, [INVOICE_PAGE])
    bound = Issue(code="bound", field="", message="request limit of 8 reached")
    with session_scope(db_url) as session:
        result = write_back(
            session, _target(doc_id), WriteBackArgs(record=invoice()), PAGES, extra_issues=[bound]
        )
    assert result.status == "needs_review"


def test_failed_record_and_run_rows(db_url: str) -> None:
    doc_id = store_document(db_url, [INVOICE_PAGE])
    with session_scope(db_url) as session:
        run = start_run(
            session,
            document_id=doc_id,
            page_first=1,
            page_last=1,
            doc_type="commercial_invoice",
            model="m",
            prompt_version="abc",
        )
        target = _target(doc_id).model_copy(update={"run_id": run.id})
        write_failed(session, target, [Issue(code="extraction_failed", field="", message="x")])
        finish_run(
            session,
            run,
            RunTotals(
                requests=2, prompt_tokens=10, completion_tokens=5, outcome="failed", cost=0.01
            ),
        )
        log = ToolCallLog(
            call_id="c1", name="get_page", arguments={"page": 1}, result_summary="ok", latency_s=0.1
        )
        record_tool_calls(session, run.id, [log])
    [rec] = records(db_url, doc_id)
    assert rec.status == "failed" and rec.data == {}
    [stored] = runs(db_url, doc_id)
    assert (stored.outcome, stored.requests, stored.cost) == ("failed", 2, 0.01)
    assert stored.finished_at is not None
    assert [(c.name, c.arguments) for c in tool_call_rows(db_url, stored.id)] == [
        ("get_page", {"page": 1})
    ]
