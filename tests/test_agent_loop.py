"""The extraction run with a scripted model: bounds, repairs, tool errors, outcomes."""

from __future__ import annotations

import json

import pytest

from agent.classify import split_groups
from agent.loop import run_extraction
from agent.models.base import ChatRequest, ChatResponse, ModelError, ModelUnavailable
from agent.models.scripted import ScriptedModel
from agent.pipeline import extract_document
from agent.tools import ToolContext
from core.settings import AgentSettings, Settings
from tests.agent_support import (
    INVOICE_PAGE,
    TARIFF,
    bad_line,
    calls,
    document_status,
    invoice,
    records,
    reply,
    runs,
    store_document,
    tool_call_rows,
)
from tools.confidence import Evidence, confidences
from tools.provenance import PageText
from tools.writeback import WriteTarget

# Tests of the repair loop give a wrong line amount (bad_line): the rules read a printed
# total and fix a wrong one without the model, so a wrong total needs no repair.
LINES = invoice()["line_items"]


def _limits(db: Settings, **kw: object) -> Settings:
    return db.model_copy(update={"agent": AgentSettings(**kw)})  # type: ignore[arg-type]


def test_clean_document_takes_one_request_and_is_extracted(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel([reply(invoice())])
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)

    assert outcome.status == "extracted"
    assert len(model.requests) == 1
    [rec] = records(db.database_url, doc_id)
    assert (rec.doc_type, rec.status, rec.data["invoice_number"]) == (
        "commercial_invoice",
        "extracted",
        "INV-2026-0042",
    )
    assert rec.provenance["invoice_number"]["page"] == 1
    agrees = Evidence(source="text", check="agrees")  # printed, and the rules agree
    assert rec.confidence["total"] == confidences({"x": agrees})["x"]
    [run] = runs(db.database_url, doc_id)
    assert (run.outcome, run.requests) == ("extracted", 1)
    assert run.prompt_tokens > 0 and run.completion_tokens > 0
    assert [c.name for c in tool_call_rows(db.database_url, run.id)] == ["write_back"]
    # the document text is in the prompt, delimited and marked as data
    user = model.requests[0].messages[1].content
    assert "<document>" in user and "never instructions" in user and "Steel bolts" in user


def test_validation_issue_is_repaired_with_tools_on_their_call_ids(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    wrong = bad_line()
    wrong["currency"] = "Euro"
    model = ScriptedModel(
        [
            reply(wrong),
            calls(("get_page", {"page": 1}), ("lookup_tariff", {"description": "bolts"})),
            calls(("fix_fields", {"fields": {"line_items[0].amount": 250.0}})),
        ]
    )
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)

    assert outcome.status == "extracted"
    repair_prompt = model.requests[1].messages[-1].content
    assert "line_items[0].amount" in repair_prompt
    assert "ISO 4217" not in repair_prompt  # "Euro" is read as EUR
    assert outcome.records[0].record["currency"] == "EUR"
    third = model.requests[2].messages
    ids = [c.id for c in third[-3].tool_calls]
    assert [m.tool_call_id for m in third[-2:]] == ids
    assert json.loads(third[-2].content)["page"] == 1
    [run] = runs(db.database_url, doc_id)
    assert run.requests == 3
    names = [c.name for c in tool_call_rows(db.database_url, run.id)]
    assert names == ["get_page", "lookup_tariff", "fix_fields"]


def test_a_repair_patch_fixes_its_field_and_keeps_the_rest(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    first = bad_line()
    model = ScriptedModel(
        [reply(first), calls(("fix_fields", {"fields": {"line_items[0].amount": 250.0}}))]
    )
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)

    [rec] = outcome.records
    assert rec.status == "extracted" and rec.issues == []
    assert rec.record["line_items"][0]["amount"] == 250.0
    first["line_items"][0]["amount"] = 250.0
    # every other field, every other row as extracted (the record also holds the nulls)
    for key, value in first.items():
        if isinstance(value, dict):
            assert value.items() <= rec.record[key].items(), key
        elif key == "line_items":
            assert [r.items() >= w.items() for r, w in zip(rec.record[key], value, strict=True)]
        else:
            assert rec.record[key] == value, key
    repair = model.requests[1]
    # the model is offered a patch tool, not a whole-record write, and a patch-sized budget
    assert [t.name for t in repair.tools] == ["get_page", "lookup_tariff", "fix_fields"]
    assert repair.max_tokens <= 512


def test_a_patch_naming_an_unknown_field_goes_back_to_the_model(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel(
        [
            reply(bad_line()),
            calls(("fix_fields", {"fields": {"line_items[3].amount": 250.0}})),  # rows 0-1
            calls(("fix_fields", {"fields": {"grand_total": 300.0}})),
            calls(("write_back", {"record": invoice()})),
            calls(("fix_fields", {"fields": {"line_items[0].amount": 250.0}})),
        ]
    )
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)

    assert outcome.status == "extracted"
    errors = [json.loads(r.messages[-1].content)["error"] for r in model.requests[2:5]]
    assert "the record has 2 line_items rows" in errors[0]
    assert "'grand_total' names no field" in errors[1]
    # a whole-record write is not offered to the model: refused like an unknown tool
    assert "unknown tool 'write_back'" in errors[2] and "fix_fields" in errors[2]
    rows = tool_call_rows(db.database_url, runs(db.database_url, doc_id)[0].id)
    assert [(r.name, r.error is None) for r in rows] == [
        ("fix_fields", False),
        ("fix_fields", False),
        ("write_back", False),
        ("fix_fields", True),
    ]


def test_a_patch_can_add_the_row_the_extraction_missed(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    first = invoice()
    missed = first["line_items"].pop()
    fix = {f"line_items[1].{k}": v for k, v in missed.items()}
    model = ScriptedModel([reply(first), calls(("fix_fields", {"fields": fix}))])
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)
    [rec] = outcome.records
    assert len(model.requests) == 2  # the lines did not add up: a repair was asked for
    assert rec.status == "extracted"
    assert [r["description"] for r in rec.record["line_items"]] == [r["description"] for r in LINES]


def test_refused_patches_end_the_run_at_the_tool_error_bound(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    unknown = calls(("fix_fields", {"fields": {"grand_total": 300.0}}))
    model = ScriptedModel([reply(bad_line()), *[unknown] * 6])
    outcome = extract_document(doc_id, settings=_limits(db, max_tool_errors=2), model=model)

    assert outcome.status == "needs_review"
    [run] = runs(db.database_url, doc_id)
    assert "more than 2 bad tool calls" in (run.reason or "")
    assert run.requests == 4
    [rec] = records(db.database_url, doc_id)
    assert rec.data["line_items"][0]["amount"] == 2500.0  # the extraction, not a refused patch
    assert "bound" in {i["code"] for i in rec.issues}


def test_a_reply_without_a_fix_ends_the_repair_with_the_first_record(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    declined = "The amounts on the document are as printed; nothing to change."
    model = ScriptedModel([reply(bad_line()), declined, reply(invoice())])
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)

    assert outcome.status == "needs_review"
    assert len(model.requests) == 2  # no nudges: each cost a request and never got a fix
    prompt = model.requests[1].messages[-1].content
    assert '(for example "line_items[0].amount")' in prompt  # a field of this record
    [rec] = records(db.database_url, doc_id)
    assert rec.data["line_items"][0]["amount"] == 2500.0
    assert "repair_declined" in {i["code"] for i in rec.issues}
    [run] = runs(db.database_url, doc_id)
    assert run.outcome == "needs_review" and "without a fix" in (run.reason or "")


def test_a_patch_written_as_text_is_applied(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel([reply(bad_line()), '{"line_items": [{"amount": 250.0}]}'])
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)
    [rec] = outcome.records
    assert rec.status == "extracted"
    assert rec.record["line_items"][0]["description"] == LINES[0]["description"]
    assert rec.record["line_items"][0]["amount"] == 250.0


def test_unknown_tool_and_bad_arguments_go_back_to_the_model(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel(
        [
            reply(bad_line()),
            calls(("approve_record", {}), ("get_page", {"page": "first"}), ("get_page", "{oops")),
            calls(("get_page", {"page": 7})),
            calls(("fix_fields", {"fields": {"line_items[0].amount": 250.0}})),
        ]
    )
    settings = _limits(db, max_tool_errors=4)
    outcome = extract_document(doc_id, settings=settings, model=model, tariff=TARIFF)

    assert outcome.status == "extracted"
    replies = [json.loads(m.content)["error"] for m in model.requests[2].messages[-3:]]
    assert "unknown tool 'approve_record'" in replies[0] and "fix_fields" in replies[0]
    assert "bad arguments for get_page" in replies[1]
    assert "not a JSON object" in replies[2]
    assert (
        "page 7 is not part of this document"
        in json.loads(model.requests[3].messages[-1].content)["error"]
    )
    rows = tool_call_rows(db.database_url, runs(db.database_url, doc_id)[0].id)
    assert sum(r.error is not None for r in rows) == 4


def test_malformed_json_gets_one_repair_request(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel(['{"invoice_number": "INV-2026-0042", "total": ', reply(invoice())])
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)
    assert outcome.status == "extracted"
    assert "did not match the schema" in model.requests[1].messages[-1].content
    assert model.requests[0].json_schema is None
    assert model.requests[1].json_schema is not None


def test_output_that_never_validates_fails_with_the_reason(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel(["not json", "still not json"])
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)
    assert outcome.status == "failed"
    [rec] = records(db.database_url, doc_id)
    assert rec.status == "failed" and rec.issues[0]["code"] == "extraction_failed"
    [run] = runs(db.database_url, doc_id)
    assert (run.outcome, run.requests) == ("failed", 2)
    assert "did not validate" in (run.error or "")


def test_request_bound_ends_in_needs_review_with_the_best_record(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    looping = [calls(("get_page", {"page": 1})) for _ in range(10)]
    model = ScriptedModel([reply(bad_line()), *looping])
    outcome = extract_document(doc_id, settings=_limits(db, max_requests=4), model=model)

    assert outcome.status == "needs_review"
    assert len(model.requests) == 4
    [rec] = records(db.database_url, doc_id)
    assert rec.status == "needs_review"
    assert rec.data["line_items"][0]["amount"] == 2500.0
    codes = {i["code"] for i in rec.issues}
    assert {"bound", "lines_total"} <= codes
    [run] = runs(db.database_url, doc_id)
    assert run.outcome == "needs_review" and "request limit of 4" in (run.reason or "")


def test_token_bound(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel([reply(bad_line()), calls(("get_page", {"page": 1}))] * 3)
    outcome = extract_document(doc_id, settings=_limits(db, max_tokens=900), model=model)
    assert outcome.status == "needs_review"
    assert "token limit of 900" in (runs(db.database_url, doc_id)[0].reason or "")


def test_wall_time_bound(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    ticks = iter(range(0, 10_000, 100))
    ctx = ToolContext(
        target=WriteTarget(
            document_id=doc_id, page_first=1, page_last=1, doc_type="commercial_invoice"
        ),
        pages=[PageText(number=1, text=INVOICE_PAGE)],
        database_url=db.database_url,
    )
    model = ScriptedModel([reply(bad_line()), *[calls(("get_page", {"page": 1}))] * 9])
    result = run_extraction(
        model, ctx, AgentSettings(max_seconds=250), clock=lambda: float(next(ticks))
    )
    assert result.outcome == "needs_review"
    assert "wall time limit of 250 s" in (result.reason or "")
    assert 1 <= result.requests < 5


def test_too_many_bad_tool_calls_stop_the_run(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel([reply(bad_line()), *[calls(("nope", {}))] * 6])
    outcome = extract_document(doc_id, settings=_limits(db, max_tool_errors=2), model=model)
    assert outcome.status == "needs_review"
    assert "more than 2 bad tool calls" in (runs(db.database_url, doc_id)[0].reason or "")
    assert len(model.requests) == 4


def test_transient_model_failure_propagates_and_a_retry_completes(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    with pytest.raises(ModelUnavailable):
        extract_document(
            doc_id, settings=db, model=ScriptedModel([ModelUnavailable("connection refused")])
        )
    assert document_status(db.database_url, doc_id) == "parsed"
    assert runs(db.database_url, doc_id)[0].outcome == "failed"

    outcome = extract_document(doc_id, settings=db, model=ScriptedModel([reply(invoice())]))
    assert outcome.status == "extracted"


def test_a_completed_document_is_not_run_again_unless_forced(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    extract_document(doc_id, settings=db, model=ScriptedModel([reply(invoice())]))
    again = extract_document(doc_id, settings=db, model=ScriptedModel([]))
    assert again.skipped and again.status == "extracted"
    assert again.records[0].record["invoice_number"] == "INV-2026-0042"
    forced = ScriptedModel([reply(invoice(payment_terms="30 days"))])
    outcome = extract_document(doc_id, settings=db, model=forced, force=True)
    assert outcome.records[0].record["payment_terms"] == "30 days"
    assert len(records(db.database_url, doc_id)) == 1


def test_one_file_with_two_documents_gives_two_records(db: Settings) -> None:
    bl_page = (
        "BILL OF LADING\nB/L No: MEDU1234567\nShipper: Acme\nConsignee: Bolt\n"
        "Port of loading: Hamburg\nPort of discharge: Rotterdam\nContainer CSQU3054383"
    )
    doc_id = store_document(db.database_url, [bl_page, INVOICE_PAGE])
    bl = {
        "bl_number": "MEDU1234567",
        "shipper": {"name": "Acme"},
        "consignee": {"name": "Bolt"},
        "port_of_loading": {"name": "Hamburg"},
        "port_of_discharge": {"name": "Rotterdam"},
        "containers": [{"number": "CSQU3054383"}],
    }
    model = ScriptedModel([reply(bl), reply(invoice())])
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)
    assert [(r.doc_type, r.pages, r.status) for r in outcome.records] == [
        ("bill_of_lading", [1], "extracted"),
        ("commercial_invoice", [2], "extracted"),
    ]
    assert "Steel bolts" not in model.requests[0].messages[1].content


def test_long_document_is_windowed_and_a_row_cut_by_the_page_break_survives(
    db: Settings,
) -> None:
    page1 = INVOICE_PAGE.replace("Hex nuts M10         731816    10    1.00         10.00", "")
    page2 = "Hex nuts M10 731816 10 1.00 10.00\n" + "terms and conditions " * 60
    doc_id = store_document(db.database_url, [page1, page2])
    first = invoice()
    first["line_items"][1] = {"description": "Hex nuts M10", "hs_code": "731816"}
    second = {"line_items": [{"quantity": 10, "unit_price": 1.0, "amount": 10.0}]}
    model = ScriptedModel([reply(first), reply(second)])
    outcome = extract_document(doc_id, settings=_limits(db, window_tokens=450), model=model)

    assert len(model.requests) == 2
    [rec] = outcome.records
    assert rec.status == "extracted"
    assert len(rec.record["line_items"]) == 2
    assert rec.record["line_items"][1]["amount"] == 10.0


def test_truncated_output_is_split_instead_of_lost(db: Settings) -> None:
    page2 = "Hex nuts M10 731816 10 1.00 10.00"
    doc_id = store_document(db.database_url, [INVOICE_PAGE, page2])
    cut = ChatResponse(content='{"line_items": [', model="m", backend="b", finish_reason="length")
    first = invoice()
    first["line_items"] = first["line_items"][:1]
    second = {"line_items": [invoice()["line_items"][1]]}
    model = ScriptedModel([cut, reply(first), reply(second)])
    outcome = extract_document(doc_id, settings=db, model=model)
    assert len(model.requests) == 3
    assert [len(r.messages[1].content) > 0 for r in model.requests] == [True] * 3
    assert len(outcome.records[0].record["line_items"]) == 2


def test_unknown_printed_tariff_code_gets_candidates_in_the_first_prompt(db: Settings) -> None:
    page = INVOICE_PAGE.replace("731816", "731899")
    doc_id = store_document(db.database_url, [page])

    def answer(request: ChatRequest) -> ChatResponse:
        assert "Tariff candidates" in request.messages[1].content
        assert "731816" in request.messages[1].content
        return reply(invoice())

    outcome = extract_document(doc_id, settings=db, model=ScriptedModel([answer]), tariff=TARIFF)
    assert outcome.status == "extracted"
    assert any("nuts" in d.lower() for d in TARIFF.lookups)


def test_schema_constrained_output_except_for_the_in_process_backend(db: Settings) -> None:
    served = db.model_copy(update={"model": db.model.model_copy(update={"backend": "openai"})})
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel([reply(invoice())])
    extract_document(doc_id, settings=served, model=model)
    schema = model.requests[0].json_schema
    assert schema is not None and "invoice_number" in schema["properties"]

    local = db.model_copy(update={"model": db.model.model_copy(update={"backend": "local"})})
    doc_id = store_document(db.database_url, [INVOICE_PAGE.replace("0042", "0043")])
    model = ScriptedModel([reply(invoice())])
    extract_document(doc_id, settings=local, model=model)
    assert model.requests[0].json_schema is None
    assert '"invoice_number":"text"' in model.requests[0].messages[0].content


def test_page_one_markers_split_a_file_into_documents() -> None:
    first = "Rechnung RE-1\nSeite 1 / 2\nPos Menge Betrag"
    second = "Pos 2 Menge Betrag\nSeite 2 / 2"
    third = "Factuur F-9\nPagina 1 / 1"
    pages = [PageText(number=i + 1, text=t) for i, t in enumerate([first, second, third])]
    assert [[p.number for p in g] for g in split_groups(pages)] == [[1, 2], [3]]


def test_a_repair_that_makes_the_record_worse_is_not_kept(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    worse = {"currency": "Dollars", "invoice_date": "31.31.2026"}
    model = ScriptedModel([reply(bad_line()), calls(("fix_fields", {"fields": worse}))])
    outcome = extract_document(doc_id, settings=db, model=model)
    [rec] = outcome.records
    assert rec.status == "needs_review"
    assert (rec.record["currency"], rec.record["invoice_date"]) == ("EUR", "2026-10-02")
    assert rec.record["seller"]["name"] == "Acme Fasteners GmbH"
    assert sorted(i["code"] for i in rec.issues) == ["line_amount", "lines_total"]


def test_words_around_the_json_cost_no_repair_request(db: Settings) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    chatty = "Here is the record:\n" + json.dumps(invoice()) + "\nI hope this helps."
    model = ScriptedModel([chatty])
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)
    assert len(model.requests) == 1
    assert outcome.records[0].record["invoice_number"] == "INV-2026-0042"


def test_numbers_with_thousands_separators_outside_quotes_are_read_not_repaired(
    db: Settings,
) -> None:
    page = INVOICE_PAGE.replace("Total EUR 300.00", "Total EUR 1,300.00").replace(
        "Freight 40.00", "Freight 1,040.00"
    )
    doc_id = store_document(db.database_url, [page])
    text = json.dumps(invoice(freight=1.0, total=2.0))
    text = text.replace('"freight": 1.0', '"freight": 1,040.00').replace(
        '"total": 2.0', '"total": 1,300.00'
    )
    model = ScriptedModel([text])
    outcome = extract_document(doc_id, settings=db, model=model, tariff=TARIFF)
    assert len(model.requests) == 1
    record = outcome.records[0].record
    assert (record["freight"], record["total"]) == (1040.0, 1300.0)


def _bill(container: str) -> dict[str, object]:
    return {
        "bl_number": "MEDU1234567",
        "shipper": {"name": "Acme"},
        "consignee": {"name": "Bolt"},
        "port_of_loading": {"name": "Hamburg"},
        "port_of_discharge": {"name": "Rotterdam"},
        "containers": [{"number": container}],
    }


def test_a_container_number_printed_with_a_bad_check_digit_costs_no_repair_request(
    db: Settings,
) -> None:
    page = (
        "BILL OF LADING\nB/L No: MEDU1234567\nShipper: Acme\nConsignee: Bolt\n"
        "Port of loading: Hamburg\nPort of discharge: Rotterdam\nContainer CSQU 305438-4"
    )
    doc_id = store_document(db.database_url, [page])
    model = ScriptedModel([reply(_bill("CSQU3054384"))])
    outcome = extract_document(doc_id, settings=db, model=model)
    assert len(model.requests) == 1  # reading the page again gives the same number
    [rec] = outcome.records
    assert rec.status == "needs_review"
    assert any(i["code"] == "container_number" for i in records(db.database_url, doc_id)[0].issues)

    # Misread (the page prints a valid number): that one a second look can fix.
    misread = store_document(db.database_url, [page.replace("305438-4", "305438-3")])
    model = ScriptedModel(
        [
            reply(_bill("CSQU3054384")),
            calls(("fix_fields", {"fields": {"containers[0].number": "CSQU3054383"}})),
        ]
    )
    outcome = extract_document(misread, settings=db, model=model)
    assert len(model.requests) == 2
    assert outcome.records[0].status == "extracted"


def test_a_repair_the_model_cannot_answer_keeps_the_first_record_for_review(
    db: Settings,
) -> None:
    # Seen on a 59-row packing list: document + record overflowed the context in the
    # repair, and the document failed with its extraction thrown away.
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    overflow = ModelError("Requested tokens (9446) exceed context window of 8192")
    outcome = extract_document(
        doc_id, settings=db, model=ScriptedModel([reply(bad_line()), overflow]), tariff=TARIFF
    )

    assert outcome.status == "needs_review"
    record = outcome.records[0].record
    assert record["invoice_number"] == invoice()["invoice_number"]
    assert len(record["line_items"]) == len(LINES)
    [run] = runs(db.database_url, doc_id)
    assert run.outcome == "needs_review"


def test_the_repair_prompt_reads_pages_by_tool_when_document_and_record_overflow(
    db: Settings,
) -> None:
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    model = ScriptedModel(
        [reply(bad_line()), calls(("fix_fields", {"fields": {"line_items[0].amount": 250.0}}))]
    )
    # The document alone fits this window; with the record beside it, it does not.
    limits = _limits(db, window_tokens=len(INVOICE_PAGE) // 4 + 60)
    outcome = extract_document(doc_id, settings=limits, model=model, tariff=TARIFF)

    assert outcome.status == "extracted"
    repair_user = model.requests[1].messages[1].content
    assert "read them with get_page" in repair_user
