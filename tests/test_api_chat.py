"""Chat over a real (small) knowledge base in Qdrant local mode with the scripted model:
SSE events, citations that point at real chunks and records, conversations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api import create_app
from core import migrate
from core.auth import create_key
from core.db import session_scope
from core.models import ChatMessage, Role
from core.settings import Settings
from kb.index import close_local_clients
from kb.ingest import ingest
from kb.search import get_kb
from tests.factories import add_record
from tests.service_harness import auth, wait_for

HOLD = """# Procedure: customs hold

## When a container is held

Keep the container in the bonded area. Notify the customs broker within 2 hours and
send the commercial invoice and packing list. Do not release cargo before the hold is lifted.
"""
DAMAGE = """# Procedure: damaged cargo

## Photographs

Photograph every damaged carton before unloading continues and note the seal number.
"""
QUESTION = "What do we do when customs holds a container?"


def _parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        if block.startswith(":"):  # a keep-alive comment while the model works
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.fixture
def kb_settings(tmp_path: Path) -> Iterator[Settings]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "procedure-customs-hold.md").write_text(HOLD)
    (docs / "procedure-damaged-cargo.md").write_text(DAMAGE)
    settings = Settings(
        environment="test",
        var_dir=tmp_path / "var",
        kb={"docs_dir": docs, "qdrant_path": tmp_path / "qdrant"},
    )
    migrate.upgrade(settings.database_url)
    ingest(settings, "docs")
    yield settings
    close_local_clients()


def _with_script(settings: Settings, path: Path, replies: list[str]) -> Settings:
    path.write_text(json.dumps(replies))
    model = settings.model.model_copy(update={"backend": "scripted", "script_path": path})
    return settings.model_copy(update={"model": model})


def test_answer_streams_with_citations_of_real_chunks(
    kb_settings: Settings, tmp_path: Path
) -> None:
    [top] = get_kb(kb_settings).search_docs(QUESTION, top=1)
    assert top.file == "procedure-customs-hold.md"
    answer = (
        f"Keep it in the bonded area and notify the broker within 2 hours [chunk:{top.chunk_id}]."
    )
    settings = _with_script(kb_settings, tmp_path / "script.json", [answer])
    token = create_key(settings.database_url, Role.OPERATOR, "olga").token
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/chat", json={"question": QUESTION}, headers=auth(token))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and "delta" in names
    sources = events[0][1]["sources"]
    assert {s["id"] for s in sources} >= {top.chunk_id}
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    done = events[-1][1]
    assert streamed == done["answer"] == answer
    [citation] = done["citations"]
    assert citation["kind"] == "chunk" and citation["id"] == top.chunk_id
    assert "Notify the customs broker within 2 hours" in citation["text"]
    assert citation["title"].startswith("procedure-customs-hold.md")


def test_records_are_cited_when_the_question_names_a_shipment(
    kb_settings: Settings, tmp_path: Path
) -> None:
    with session_scope(kb_settings.database_url) as session:
        record_id = add_record(
            session, "bl", "bill_of_lading", {"bl_number": "MEDU4471902", "vessel": "MSC ANNA"}
        )
    answer = f"B/L MEDU4471902 is on the MSC ANNA [record:{record_id}] [record:999999]."
    settings = _with_script(kb_settings, tmp_path / "script.json", [answer, "Second answer."])
    token = create_key(settings.database_url, Role.OPERATOR, "olga").token
    with TestClient(create_app(settings)) as client:
        first = client.post(
            "/v1/chat",
            json={"question": "Which vessel carries MEDU4471902?", "stream": False},
            headers=auth(token),
        ).json()
        conversation = first["conversation_id"]
        # The scripted model is built per question, so its script starts again.
        second = client.post(
            "/v1/chat",
            json={"question": "And its status?", "conversation_id": conversation, "stream": False},
            headers=auth(token),
        ).json()
    assert [(c["kind"], c["id"]) for c in first["citations"]] == [("record", str(record_id))]
    assert "vessel: MSC ANNA" in first["citations"][0]["text"]
    assert any(s["kind"] == "record" for s in first["sources"])
    assert second["conversation_id"] == conversation
    with session_scope(settings.database_url) as session:
        turns = session.scalars(
            select(ChatMessage.role).where(ChatMessage.conversation_id == conversation)
        ).all()
    assert turns == ["user", "assistant", "user", "assistant"]


def test_a_model_failure_ends_the_stream_with_an_error_event(
    kb_settings: Settings, tmp_path: Path
) -> None:
    settings = _with_script(kb_settings, tmp_path / "script.json", [])  # no reply scripted
    token = create_key(settings.database_url, Role.OPERATOR, "olga").token
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/chat", json={"question": QUESTION}, headers=auth(token))
        blocking = client.post(
            "/v1/chat", json={"question": QUESTION, "stream": False}, headers=auth(token)
        )
    name, data = _parse_sse(response.text)[-1]
    assert name == "error" and data["code"] == "script_exhausted"
    assert blocking.status_code == 502
    assert blocking.json()["error"]["code"] == "script_exhausted"


def test_admin_queues_a_kb_ingestion_that_makes_a_new_procedure_searchable(
    kb_settings: Settings,
) -> None:
    assert kb_settings.kb.docs_dir is not None
    (kb_settings.kb.docs_dir / "procedure-reefer.md").write_text(
        "# Procedure: reefer containers\n\n## Temperature alarm\n\n"
        "When a reefer container reports a temperature alarm, plug it in at the reefer rack "
        "and call the shipping line's reefer desk.\n"
    )
    admin = create_key(kb_settings.database_url, Role.ADMIN, "admin").token
    operator = create_key(kb_settings.database_url, Role.OPERATOR, "olga").token
    question = "reefer temperature alarm"
    with TestClient(create_app(kb_settings)) as client:
        assert client.post("/v1/kb/ingest", headers=auth(operator)).status_code == 403
        response = client.post("/v1/kb/ingest", headers=auth(admin))
        assert response.status_code == 202 and response.json()["queue"] == "kb"

        def found() -> bool:
            hits = get_kb(kb_settings).search_docs(question, top=1)
            return bool(hits) and hits[0].file == "procedure-reefer.md"

        wait_for(found, 60, "the new procedure to be searchable")
