"""API keys and roles: every endpoint against every role, JSON 401/403, revocation, and
per-key rate limits (in memory and in Redis)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from core import migrate
from core.auth import create_key, hash_token, list_keys
from core.models import Role
from core.settings import Settings
from tests.service_harness import auth, embedded_settings
from tests.sim_model_server import SimServer, invoice_pdf

UPLOAD = ("files", ("inv.pdf", b"%PDF-1.4 not really", "application/pdf"))

# (method, path, permission); an allowed call may still answer 404/422, never 401/403.
ENDPOINTS = [
    ("GET", "/v1/documents", "read"),
    ("GET", "/v1/documents/999", "read"),
    ("GET", "/v1/documents/999/file", "read"),
    ("POST", "/v1/documents", "upload"),
    ("POST", "/v1/documents/999/retry", "admin"),
    ("GET", "/v1/records", "read"),
    ("GET", "/v1/records/999", "read"),
    ("POST", "/v1/records/999/review", "review"),
    ("GET", "/v1/review-queue", "read"),
    ("POST", "/v1/chat", "chat"),
    ("GET", "/v1/keys", "admin"),
    ("POST", "/v1/keys", "admin"),
    ("DELETE", "/v1/keys/999", "admin"),
    ("POST", "/v1/kb/ingest", "admin"),
]
ALLOWED = {
    Role.VIEWER: {"read"},
    Role.UPLOADER: {"read", "upload"},
    Role.OPERATOR: {"read", "review", "chat"},
    Role.ADMIN: {"read", "upload", "review", "chat", "admin"},
}


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(latency=0.0) as server:
        yield server


@pytest.fixture
def app_settings(tmp_path: Path, sim: SimServer, db_url: str) -> Settings:
    """The embedded service on SQLite and on PostgreSQL (``db_url`` is both, migrated)."""
    settings = embedded_settings(tmp_path / "var", sim.url, upload_rate_per_minute=3)
    empty = tmp_path / "no-docs"  # the admin's kb ingestion in the matrix has nothing to embed
    empty.mkdir()
    kb = settings.kb.model_copy(update={"docs_dir": empty, "qdrant_path": tmp_path / "qdrant"})
    return settings.model_copy(update={"database_url": db_url, "kb": kb})


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings)) as c:
        yield c


def _call(client: TestClient, method: str, path: str, token: str | None) -> int:
    headers = auth(token) if token is not None else {}
    if path == "/v1/documents" and method == "POST":
        # An empty file: 422 when allowed, so nothing is stored or processed.
        files = [("files", ("empty.pdf", b"", "application/pdf"))]
        return client.post(path, files=files, headers=headers).status_code
    if method == "POST":
        # Invalid bodies: an allowed caller gets 422 from validation, after auth.
        return client.post(path, json={"bogus": True}, headers=headers).status_code
    return client.request(method, path, headers=headers).status_code


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_exactly_its_endpoints(
    client: TestClient, app_settings: Settings, role: Role
) -> None:
    token = create_key(app_settings.database_url, role, f"{role.value} key").token
    for method, path, permission in ENDPOINTS:
        status = _call(client, method, path, token)
        if permission in ALLOWED[role]:
            assert status not in (401, 403), (role, method, path, status)
        else:
            assert status == 403, (role, method, path, status)


def test_missing_unknown_and_revoked_keys_get_json_401(
    client: TestClient, app_settings: Settings
) -> None:
    created = create_key(app_settings.database_url, Role.ADMIN, "soon revoked")
    assert client.get("/v1/documents", headers=auth(created.token)).status_code == 200
    assert client.delete(f"/v1/keys/{created.id}", headers=auth(created.token)).status_code == 204
    for token in (None, "sdk_" + "x" * 43, "not-a-key", created.token):
        for method, path, _ in ENDPOINTS:
            assert _call(client, method, path, token) == 401, (token, method, path)
    response = client.get("/v1/records", headers=auth(created.token))
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_forbidden_is_json_and_names_the_role(client: TestClient, app_settings: Settings) -> None:
    token = create_key(app_settings.database_url, Role.VIEWER, "v").token
    response = client.post("/v1/documents", files=[UPLOAD], headers=auth(token))
    assert response.status_code == 403
    assert response.json() == {
        "error": {"code": "forbidden", "message": "the viewer role may not upload"}
    }


def test_public_endpoints_need_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/metrics").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "shipdoc"
    assert client.get("/docs").status_code == 200


def test_admin_creates_a_key_that_works_and_only_its_hash_is_stored(
    client: TestClient, app_settings: Settings
) -> None:
    admin = create_key(app_settings.database_url, Role.ADMIN, "admin").token
    response = client.post(
        "/v1/keys", json={"name": "scanner", "role": "uploader"}, headers=auth(admin)
    )
    assert response.status_code == 201
    token = response.json()["token"]
    stored = {k.name: k for k in list_keys(app_settings.database_url)}["scanner"]
    assert stored.token_sha256 == hash_token(token)
    assert token not in stored.token_sha256 + stored.prefix + stored.name
    listed = client.get("/v1/keys", headers=auth(admin)).json()
    assert "token" not in listed[0] and {k["name"] for k in listed} == {"admin", "scanner"}
    assert client.get("/v1/documents", headers=auth(token)).status_code == 200


def _upload_n(client: TestClient, token: str, n: int, tag: str) -> list[int]:
    statuses = []
    for i in range(n):
        files = [("files", (f"{i}.pdf", invoice_pdf(f"{tag}-{i}"), "application/pdf"))]
        statuses.append(client.post("/v1/documents", files=files, headers=auth(token)).status_code)
    return statuses


def test_uploads_are_rate_limited_per_key_in_memory(
    client: TestClient, app_settings: Settings
) -> None:
    one = create_key(app_settings.database_url, Role.UPLOADER, "one").token
    two = create_key(app_settings.database_url, Role.UPLOADER, "two").token
    statuses = _upload_n(client, one, 4, "A")
    assert statuses[:3] == [202, 202, 202] and statuses[3] == 429
    limited = client.post("/v1/documents", files=[UPLOAD], headers=auth(one))
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert _upload_n(client, two, 1, "B") == [202]


@pytest.mark.redis
def test_uploads_are_rate_limited_per_key_in_redis_across_app_instances(
    tmp_path: Path, sim: SimServer, redis_url: str
) -> None:
    settings = embedded_settings(
        tmp_path / "var",
        sim.url,
        broker_url=redis_url,
        key_prefix=f"shipdoc-test-{uuid.uuid4().hex[:8]}:",
        upload_rate_per_minute=2,
    )
    migrate.upgrade(settings.database_url)
    token = create_key(settings.database_url, Role.UPLOADER, "u").token
    # Two API processes share one Redis: the limit holds across them.
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        assert _upload_n(first, token, 2, "R") == [202, 202]
        assert _upload_n(second, token, 1, "S") == [429]
