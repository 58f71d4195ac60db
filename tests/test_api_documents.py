"""Uploads in the embedded default (in-process executor, SQLite): processing to a record,
duplicates, multi-file uploads, the stored file, and bad uploads with JSON errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from core.auth import create_key
from core.models import Role
from core.settings import Settings
from tests.service_harness import auth, embedded_settings, wait_for
from tests.sim_model_server import SimServer, invoice_pdf
from tools.intake import ingest
from workers import jobs

FINAL = ("extracted", "needs_review", "failed", "rejected")


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(latency=0.0) as server:
        yield server


@pytest.fixture
def app_settings(tmp_path: Path, sim: SimServer) -> Settings:
    settings = embedded_settings(tmp_path / "var", sim.url, max_files_per_upload=3)
    return settings.model_copy(
        update={"limits": settings.limits.model_copy(update={"max_file_bytes": 20_000})}
    )


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings)) as c:
        yield c


@pytest.fixture
def token(client: TestClient, app_settings: Settings) -> str:
    return create_key(app_settings.database_url, Role.ADMIN, "test").token


def _post(client: TestClient, token: str, *files: tuple[str, bytes]) -> Any:
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
    return client.post("/v1/documents", files=parts, headers=auth(token))


def _final(client: TestClient, token: str, doc_id: int) -> dict[str, Any] | None:
    doc: dict[str, Any] = client.get(f"/v1/documents/{doc_id}", headers=auth(token)).json()
    done = doc["status"] in FINAL and doc["job"]["state"] in ("done", "failed")
    return doc if done else None


def test_an_upload_is_processed_in_process_into_a_record(client: TestClient, token: str) -> None:
    data = invoice_pdf("INV-5001")
    response = _post(client, token, ("invoice.pdf", data))
    assert response.status_code == 202
    [item] = response.json()["documents"]
    assert item["duplicate"] is False and item["status"] == "received"
    doc = wait_for(lambda: _final(client, token, item["document_id"]), 60, "processing")
    assert doc["status"] == "extracted"
    assert doc["pages"][0]["method"] == "text" and doc["pages"][0]["chars"] > 100
    [record_id] = doc["record_ids"]
    record = client.get(f"/v1/records/{record_id}", headers=auth(token)).json()
    assert record["data"]["invoice_number"] == "INV-5001"
    assert record["provenance"]["invoice_number"]["page"] == 1
    assert record["run"]["outcome"] == "extracted" and record["run"]["requests"] >= 1

    file = client.get(f"/v1/documents/{item['document_id']}/file", headers=auth(token))
    assert file.content == data
    assert file.headers["content-type"] == "application/pdf"
    assert 'filename="invoice.pdf"' in file.headers["content-disposition"]


def test_a_duplicate_returns_the_existing_id_and_is_not_processed_again(
    client: TestClient, token: str, sim: SimServer
) -> None:
    data = invoice_pdf("INV-5002")
    first = _post(client, token, ("a.pdf", data)).json()["documents"][0]
    wait_for(lambda: _final(client, token, first["document_id"]), 60, "processing")
    served = sim.behaviour.requests
    again = _post(client, token, ("b.pdf", data))
    assert again.status_code == 200
    [item] = again.json()["documents"]
    assert item["duplicate"] is True and item["document_id"] == first["document_id"]
    assert item["status"] == "extracted"
    assert sim.behaviour.requests == served
    listed = client.get("/v1/documents", headers=auth(token)).json()
    assert listed["total"] == 1


def test_several_files_in_one_request(client: TestClient, token: str) -> None:
    files = [(f"{n}.pdf", invoice_pdf(f"INV-60{n}")) for n in range(3)]
    response = _post(client, token, *files)
    assert response.status_code == 202
    ids = [d["document_id"] for d in response.json()["documents"]]
    assert len(set(ids)) == 3
    for doc_id in ids:
        wait_for(lambda d=doc_id: _final(client, token, d), 60, f"document {doc_id}")
    records = client.get("/v1/records", headers=auth(token)).json()
    assert sorted(r["document_id"] for r in records["items"]) == sorted(ids)


@pytest.mark.parametrize(
    ("files", "status", "code"),
    [
        ([("big.pdf", b"%PDF-1.4\n" + b"0" * 30_000)], 413, "file_too_large"),
        ([("notes.txt", b"just some text, not a document\n")], 415, "unsupported_type"),
        ([("run.exe", b"MZ\x90\x00" + b"\x00" * 200)], 415, "unsupported_type"),
        ([("empty.pdf", b"")], 422, "empty_file"),
        ([(f"{n}.pdf", b"%PDF-1.4") for n in range(4)], 413, "too_many_files"),
    ],
)
def test_bad_uploads_get_json_errors_and_store_nothing(
    client: TestClient, token: str, files: list[tuple[str, bytes]], status: int, code: str
) -> None:
    response = _post(client, token, *files)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert client.get("/v1/documents", headers=auth(token)).json()["total"] == 0


def test_one_bad_file_rejects_the_whole_request(client: TestClient, token: str) -> None:
    response = _post(client, token, ("ok.pdf", invoice_pdf("INV-7")), ("x.txt", b"plain text"))
    assert response.status_code == 415
    assert "x.txt" in response.json()["error"]["message"]
    assert client.get("/v1/documents", headers=auth(token)).json()["total"] == 0


def test_an_upload_without_files_is_a_json_422(client: TestClient, token: str) -> None:
    response = client.post("/v1/documents", headers=auth(token))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_unknown_document_is_a_json_404(client: TestClient, token: str) -> None:
    for path in ("/v1/documents/4242", "/v1/documents/4242/file", "/v1/records/4242"):
        response = client.get(path, headers=auth(token))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_a_damaged_pdf_is_accepted_then_rejected_with_its_error(
    client: TestClient, token: str
) -> None:
    response = _post(client, token, ("broken.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50))
    assert response.status_code == 202
    doc_id = response.json()["documents"][0]["document_id"]
    doc = wait_for(lambda: _final(client, token, doc_id), 60, "parsing")
    assert doc["status"] == "rejected"
    assert doc["error_code"] == "corrupt_document" and doc["error_message"]
    listed = client.get("/v1/documents", params={"status": "rejected"}, headers=auth(token))
    assert [d["id"] for d in listed.json()["items"]] == [doc_id]


def test_work_queued_before_a_restart_is_taken_up_by_the_next_process(
    app_settings: Settings,
) -> None:
    # As if the last process stored and queued the document, then died before running it.
    stored = ingest(invoice_pdf("INV-9001"), "left-behind.pdf", settings=app_settings, parse=False)
    key = jobs.document_key(stored.document_id)
    jobs.ensure_job(app_settings.database_url, key, "document", stored.document_id)
    jobs.mark_queued(app_settings.database_url, key)
    token = create_key(app_settings.database_url, Role.VIEWER, "v").token
    with TestClient(create_app(app_settings)) as client:
        doc = wait_for(lambda: _final(client, token, stored.document_id), 60, "the resumed job")
    assert doc["status"] == "extracted" and doc["job"]["attempts"] == 1


def test_a_body_over_every_limit_is_refused_before_it_is_read(
    client: TestClient, token: str
) -> None:
    response = _post(client, token, ("huge.pdf", b"%PDF-1.4\n" + b"0" * 400_000))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert client.get("/v1/documents", headers=auth(token)).json()["total"] == 0
