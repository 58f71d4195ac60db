"""The hostile input set through the HTTP API (issue 10): each file gets a typed 4xx at
upload or a stored outcome with a code; no 5xx anywhere, on upload, status, file download
or listing; every stored document ends final."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from core.auth import create_key
from core.models import Role
from core.settings import Settings
from tests.hostile.corpus import Case, cases
from tests.service_harness import auth, embedded_settings, wait_for
from tests.sim_model_server import SimServer

FINAL = {"extracted", "needs_review", "failed", "rejected"}
MB = 1 << 20


def _multipart(filename: str, data: bytes) -> tuple[bytes, str]:
    """Built by hand so that names reach the server as sent (clients escape them)."""
    head = (
        f'--B0\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    return head.encode("utf-8") + data + b"\r\n--B0--\r\n", "multipart/form-data; boundary=B0"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Settings]]:
    var = tmp_path_factory.mktemp("hostile") / "var"
    with SimServer(latency=0.0) as sim:
        settings = embedded_settings(var, sim.url, extract_concurrency=2)
        settings = settings.model_copy(
            update={"limits": settings.limits.model_copy(update={"max_file_bytes": 5 * MB})}
        )
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            yield client, settings


def _upload(client: TestClient, token: str, case: Case) -> Any:
    body, content_type = _multipart(case.filename, case.data)
    return client.post(
        "/v1/documents", content=body, headers={**auth(token), "Content-Type": content_type}
    )


def test_every_hostile_file_gets_a_typed_error_or_a_stored_outcome(
    service: tuple[TestClient, Settings],
) -> None:
    client, settings = service
    token = create_key(settings.database_url, Role.ADMIN, "hostile").token
    corpus = [*cases(), Case("oversized", "big.pdf", b"%PDF-1.7\n" + b"0" * (6 * MB))]
    assert len(corpus) >= 40
    stored: dict[str, int] = {}
    refused: dict[str, tuple[int, str]] = {}
    for case in corpus:
        response = _upload(client, token, case)
        assert response.status_code < 500, (case.name, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/json"), case.name
        if response.status_code >= 400:
            refused[case.name] = (response.status_code, response.json()["error"]["code"])
        else:
            stored[case.name] = response.json()["documents"][0]["document_id"]

    def outcomes() -> dict[str, dict[str, Any]] | None:
        docs = {
            name: client.get(f"/v1/documents/{doc_id}", headers=auth(token)).json()
            for name, doc_id in stored.items()
        }
        done = all(
            d["status"] in FINAL and (d["job"] is None or d["job"]["state"] in ("done", "failed"))
            for d in docs.values()
        )
        return docs if done else None

    docs = wait_for(outcomes, 240, "every hostile document to reach an outcome", 0.5)
    for name, doc in docs.items():
        if doc["status"] in ("failed", "rejected"):
            assert doc["error_code"] and doc["error_message"], (name, doc)
        file = client.get(f"/v1/documents/{doc['id']}/file", headers=auth(token))
        assert file.status_code in (200, 404), (name, file.status_code)
        for record_id in doc["record_ids"]:
            record = client.get(f"/v1/records/{record_id}", headers=auth(token))
            assert record.status_code == 200, (name, record.text)
    for path in ("/v1/documents?limit=200", "/v1/records?limit=200", "/v1/review-queue"):
        assert client.get(path, headers=auth(token)).status_code == 200

    # The figures of the report: how the set was answered.
    by_code: dict[str, int] = {}
    for status, code in refused.values():
        by_code[f"{status} {code}"] = by_code.get(f"{status} {code}", 0) + 1
    for doc in docs.values():
        key = f"{doc['status']} {doc['error_code'] or ''}".strip()
        by_code[key] = by_code.get(key, 0) + 1
    print(
        f"\nhostile set: {len(corpus)} files, 0 server errors; "
        + ", ".join(f"{k}: {v}" for k, v in sorted(by_code.items()))
    )
    assert docs["pdf-count-2e9"]["error_code"] == "too_many_pages"
    assert docs["pdf-600-pages"]["error_code"] == "too_many_pages"
    assert refused["oversized"][0] == 413
