"""Ordinary input that used to answer 500, and outcome classes (issue 10, defects 4 and 5).

Names that are not Latin-1, ids past the 32-bit columns, a NUL in a file name, a PDF that
claims two billion pages, blank scans; and JSON 503 with Retry-After while the database or
Redis is down. Each runs on SQLite and, where the defect was PostgreSQL's, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pymupdf
import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from core.auth import create_key
from core.db import session_scope
from core.models import Document, Role
from core.settings import Settings
from tests.service_harness import auth, embedded_settings, wait_for
from tests.sim_model_server import SimServer, invoice_pdf

FINAL = ("extracted", "needs_review", "failed", "rejected")
NAMES = ["счёт-фактура.pdf", "发票.pdf", "invoice 📦.pdf", "evil\u202efdp.exe.pdf", 'a"b\\c.pdf']


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(latency=0.0) as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app_settings(request: pytest.FixtureRequest, tmp_path: Path, sim: SimServer) -> Settings:
    settings = embedded_settings(tmp_path / "var", sim.url)
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        from core import migrate

        migrate.upgrade(url)
        settings = settings.model_copy(update={"database_url": url})
    return settings


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def token(client: TestClient, app_settings: Settings) -> str:
    return create_key(app_settings.database_url, Role.ADMIN, "test").token


def _upload(client: TestClient, token: str, name: str, data: bytes) -> int:
    files = [("files", (name, data, "application/pdf"))]
    response = client.post("/v1/documents", files=files, headers=auth(token))
    assert response.status_code in (200, 202), response.text
    return int(response.json()["documents"][0]["document_id"])


def _final(client: TestClient, token: str, doc_id: int) -> dict[str, Any] | None:
    doc: dict[str, Any] = client.get(f"/v1/documents/{doc_id}", headers=auth(token)).json()
    return doc if doc["status"] in FINAL and doc["job"]["state"] in ("done", "failed") else None


def test_files_with_any_name_download_with_their_exact_name(client: TestClient, token: str) -> None:
    for n, name in enumerate(NAMES):
        doc_id = _upload(client, token, name, invoice_pdf(f"INV-N{n}"))
        response = client.get(f"/v1/documents/{doc_id}/file", headers=auth(token))
        assert response.status_code == 200, (name, response.text)
        header = response.headers["content-disposition"]
        header.encode("latin-1")
        stored = client.get(f"/v1/documents/{doc_id}", headers=auth(token)).json()["filename"]
        assert unquote(header.split("filename*=UTF-8''", 1)[1]) == stored
        assert stored == name or name == 'a"b\\c.pdf'  # the client itself escapes a quote


@pytest.mark.parametrize("big", [2**31, 2**63, 10**30])
def test_ids_past_the_columns_are_refused_not_500(client: TestClient, token: str, big: int) -> None:
    headers = auth(token)
    for method, path in [
        ("GET", f"/v1/documents/{big}"),
        ("GET", f"/v1/documents/{big}/file"),
        ("POST", f"/v1/documents/{big}/retry"),
        ("GET", f"/v1/records/{big}"),
        ("GET", f"/v1/records?document_id={big}"),
        ("GET", f"/v1/documents?offset={big}"),
        ("DELETE", f"/v1/keys/{big}"),
    ]:
        response = client.request(method, path, headers=headers)
        assert response.status_code in (404, 422), (path, response.status_code, response.text)
        assert response.json()["error"]["code"]
    review = client.post(f"/v1/records/{big}/review", json={"action": "approve"}, headers=headers)
    assert review.status_code in (404, 422)


def test_a_nul_byte_in_a_file_name_is_stored_without_it(client: TestClient, token: str) -> None:
    # Built by hand: HTTP clients percent-escape control characters in file names.
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="inv\x00oice\x07.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + invoice_pdf("INV-NUL")
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {**auth(token), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = client.post("/v1/documents", content=body, headers=headers)
    assert response.status_code == 202, response.text
    doc_id = response.json()["documents"][0]["document_id"]
    doc = client.get(f"/v1/documents/{doc_id}", headers=auth(token)).json()
    assert doc["filename"] == "invoice.pdf"


def test_size_bytes_holds_files_over_two_gib(app_settings: Settings, client: TestClient) -> None:
    with session_scope(app_settings.database_url) as session:
        doc = Document(
            sha256="f" * 64, filename="huge.tif", size_bytes=3 * 2**30, status="rejected"
        )
        session.add(doc)
    with session_scope(app_settings.database_url) as session:
        stored = session.query(Document).filter_by(sha256="f" * 64).one()
        assert stored.size_bytes == 3 * 2**30


def _claims_pages(count: int) -> bytes:
    doc = pymupdf.open()
    doc.new_page()
    return bytes(doc.tobytes()).replace(b"/Count 1", f"/Count {count}".encode())


def test_a_pdf_claiming_two_billion_pages_is_rejected_as_too_many_pages(
    client: TestClient, token: str
) -> None:
    doc_id = _upload(client, token, "claims.pdf", _claims_pages(2_000_000_000))
    doc = wait_for(lambda: _final(client, token, doc_id), 60, "an outcome")
    assert (doc["status"], doc["error_code"]) == ("rejected", "too_many_pages")
    assert doc["job"]["attempts"] == 1


def test_a_pdf_with_an_unreadable_page_count_is_rejected_as_corrupt(
    client: TestClient, token: str
) -> None:
    doc_id = _upload(client, token, "negative.pdf", _claims_pages(-5))
    doc = wait_for(lambda: _final(client, token, doc_id), 60, "an outcome")
    assert (doc["status"], doc["error_code"]) == ("rejected", "corrupt_document")


def test_blank_scans_fail_with_a_code_and_can_be_retried(client: TestClient, token: str) -> None:
    blank = pymupdf.open()
    blank.new_page()
    blank.new_page()
    doc_id = _upload(client, token, "blank.pdf", bytes(blank.tobytes()))
    doc = wait_for(lambda: _final(client, token, doc_id), 120, "an outcome")
    assert doc["status"] == "failed"
    assert doc["error_code"] == "no_text" and doc["error_message"]
    retried = client.post(f"/v1/documents/{doc_id}/retry", headers=auth(token))
    assert retried.status_code == 202, retried.text
    again = wait_for(lambda: _final(client, token, doc_id), 120, "the retry's outcome")
    assert again["error_code"] == "no_text"


def test_the_database_down_answers_json_503_with_retry_after(
    client: TestClient, token: str, app_settings: Settings
) -> None:
    state = client.app.state.service  # type: ignore[attr-defined]
    state.settings = app_settings.model_copy(
        update={"database_url": "postgresql://postgres@127.0.0.1:9/down"}
    )
    response = client.get("/v1/documents", headers=auth(token))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert int(response.headers["retry-after"]) > 0


def test_redis_down_answers_json_503(tmp_path: Path, sim: SimServer) -> None:
    settings = embedded_settings(
        tmp_path / "var", sim.url, broker_url="redis://127.0.0.1:9/0", upload_rate_per_minute=5
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        token = create_key(settings.database_url, Role.ADMIN, "test").token
        files = [("files", ("a.pdf", invoice_pdf("INV-R"), "application/pdf"))]
        response = client.post("/v1/documents", files=files, headers=auth(token))
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/json"
        assert "retry-after" in response.headers


def test_a_full_blob_directory_answers_json_503(
    client: TestClient, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def full(self: Any, data: bytes) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("core.blobs.BlobStore.put", full)
    files = [("files", ("a.pdf", invoice_pdf("INV-FULL"), "application/pdf"))]
    response = client.post("/v1/documents", files=files, headers=auth(token))
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "storage_full"
    assert "retry-after" in response.headers
