"""The change feed: events emitted with their state change, read once each, in commit order,
also while other transactions write (PostgreSQL commits out of id order without the lock)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from core import migrate
from core.auth import create_key
from core.db import session_scope
from core.events import EventType, emit_event, read_events
from core.models import Record, Role
from core.settings import Settings
from tests.factories import add_document
from tests.service_harness import auth
from tools.writeback import WriteBackArgs, WriteTarget, write_back


def _document(url: str, name: str) -> int:
    with session_scope(url) as session:
        return add_document(session, name, "parsed")


def _write(url: str, document_id: int, record: dict[str, Any]) -> int:
    target = WriteTarget(
        document_id=document_id, page_first=1, page_last=1, doc_type="commercial_invoice"
    )
    with session_scope(url) as session:
        return write_back(session, target, WriteBackArgs(record=record), []).record_id


@pytest.fixture
def api(tmp_path: Path, db_url: str) -> Iterator[tuple[TestClient, str, str, str]]:
    settings = Settings(environment="test", var_dir=tmp_path / "var", database_url=db_url)
    operator = create_key(db_url, Role.OPERATOR, "olga").token
    viewer = create_key(db_url, Role.VIEWER, "vic").token
    with TestClient(create_app(settings)) as client:
        yield client, db_url, operator, viewer


def test_state_changes_emit_events_in_their_transaction(
    api: tuple[TestClient, str, str, str],
) -> None:
    client, url, operator, viewer = api
    doc = _document(url, "inv")
    record_id = _write(url, doc, {"invoice_number": "INV-1"})  # totals missing: needs review
    reviewed = client.post(
        f"/v1/records/{record_id}/review",
        json={"action": "correct", "fields": {"currency": "EUR"}},
        headers=auth(operator),
    )
    assert reviewed.status_code == 200, reviewed.text
    page = client.get("/v1/events", headers=auth(viewer)).json()
    types = [e["type"] for e in page["items"]]
    assert types == ["record.needs_review", "record.reviewed"]
    first, second = page["items"]
    assert first["data"]["record_id"] == record_id and first["data"]["doc_type"] == (
        "commercial_invoice"
    )
    assert second["data"]["corrected_fields"] == ["currency"]
    assert second["data"]["reviewer"].startswith("olga")
    assert first["id"].startswith("evt_") and first["id"] != second["id"]
    assert page["next_cursor"] == second["cursor"] and not page["has_more"]
    # a failed transaction leaves no event behind
    with pytest.raises(RuntimeError), session_scope(url) as session:
        emit_event(session, EventType.DOCUMENT_FAILED, {"document_id": doc}, document_id=doc)
        raise RuntimeError("rolled back")
    later = client.get("/v1/events", params={"after": page["next_cursor"]}, headers=auth(viewer))
    assert later.json() == {"items": [], "next_cursor": page["next_cursor"], "has_more": False}


def test_feed_pages_filters_and_refuses_bad_input(api: tuple[TestClient, str, str, str]) -> None:
    client, url, _operator, viewer = api
    with session_scope(url) as session:
        for i in range(7):
            kind = EventType.DOCUMENT_REJECTED if i % 2 else EventType.DOCUMENT_FAILED
            emit_event(session, kind, {"document_id": i}, document_id=i)
    seen: list[int] = []
    cursor = ""
    while True:
        page = client.get(
            "/v1/events", params={"after": cursor, "limit": 3}, headers=auth(viewer)
        ).json()
        seen += [e["data"]["document_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == list(range(7))
    rejected = client.get(
        "/v1/events", params={"type": "document.rejected"}, headers=auth(viewer)
    ).json()
    assert [e["data"]["document_id"] for e in rejected["items"]] == [1, 3, 5]
    for params, code in (
        ({"after": "abc"}, "bad_cursor"),
        ({"type": "record.deleted"}, "bad_event_type"),
    ):
        bad = client.get("/v1/events", params=params, headers=auth(viewer))
        assert bad.status_code == 422 and bad.json()["error"]["code"] == code
    assert client.get("/v1/events").status_code == 401
    spec = client.get("/openapi.json").json()
    for path in ("/v1/events", "/v1/export", "/v1/webhooks", "/v1/webhooks/{endpoint_id}/replay"):
        assert path in spec["paths"], path


@pytest.mark.postgres
def test_feed_returns_every_event_once_while_records_are_written_concurrently(
    postgres_url: str,
) -> None:
    """Writers store records (write-back, as extraction does) and hold their transaction
    open for a random while after the event, so without the commit-order lock a reader
    would page past ids that commit later and miss them."""
    migrate.upgrade(postgres_url)
    writers, per_writer = 6, 25
    errors: list[BaseException] = []
    written: dict[int, list[int]] = {n: [] for n in range(writers)}  # writer -> record ids

    def write(n: int) -> None:
        rng = random.Random(n)
        target = {"page_first": 1, "page_last": 1, "doc_type": "commercial_invoice"}
        try:
            for i in range(per_writer):
                with session_scope(postgres_url) as session:
                    result = write_back(
                        session,
                        WriteTarget(
                            document_id=add_document(session, f"{n}-{i}", "parsed"), **target
                        ),
                        WriteBackArgs(record={"invoice_number": f"INV-{n}-{i}"}),
                        [],
                    )
                    time.sleep(rng.uniform(0, 0.01))
                written[n].append(result.record_id)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    seen: list[int] = []
    cursor = 0

    def read_page() -> None:
        nonlocal cursor
        with session_scope(postgres_url) as session:
            for event in read_events(session, after=cursor, limit=7):
                assert event.record_id is not None
                seen.append(event.record_id)
                cursor = event.id

    while any(t.is_alive() for t in threads):
        read_page()
    for thread in threads:
        thread.join()
    read_page()
    read_page()
    assert not errors, errors
    assert len(seen) == len(set(seen)) == writers * per_writer
    assert set(seen) == {r for ids in written.values() for r in ids}
    for ids in written.values():  # each writer's records in the order it wrote them
        assert [r for r in seen if r in set(ids)] == ids


def test_record_status_events_follow_validation(db_url: str) -> None:
    doc = _document(db_url, "bl")
    complete = {
        "invoice_number": "INV-9",
        "invoice_date": "2026-01-02",
        "seller": {"name": "A", "country": "DE"},
        "buyer": {"name": "B", "country": "NL"},
        "currency": "EUR",
        "line_items": [{"description": "x", "quantity": 1, "unit_price": 2.0, "amount": 2.0}],
        "total": 2.0,
    }
    record_id = _write(db_url, doc, complete)
    with session_scope(db_url) as session:
        status = session.get_one(Record, record_id).status
        events = read_events(session)
    assert [e.type for e in events] == [f"record.{status}"]
    assert events[0].record_id == record_id and events[0].document_id == doc
