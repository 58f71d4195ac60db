"""Web pages without a browser: empty states, sign-in edge cases, conversation ownership
and the record version check, through the app in process (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.chat import ConversationNotFound, check_owner
from app.api import create_app
from core import migrate
from core.auth import create_key, revoke_key
from core.db import session_scope
from core.models import ChatMessage, Role
from core.settings import Settings
from tests.factories import add_record
from tests.service_harness import auth


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    script = tmp_path / "script.json"
    script.write_text("[]")
    settings = Settings(
        environment="test",
        var_dir=tmp_path / "var",
        model={"backend": "scripted", "script_path": script},
    )
    migrate.upgrade(settings.database_url)
    yield settings


def _sign_in(client: TestClient, token: str, next_path: str = "/") -> int:
    client.get("/signin")
    csrf = client.cookies["shipdoc_signin_csrf"]
    response = client.post(
        "/signin",
        data={"api_key": token, "csrf": csrf, "next": next_path},
        follow_redirects=False,
    )
    assert response.status_code in (303, 401), response.text
    return response.status_code


def test_an_empty_database_says_there_are_no_records_yet(settings: Settings) -> None:
    token = create_key(settings.database_url, Role.UPLOADER, "u").token
    with TestClient(create_app(settings)) as client:
        _sign_in(client, token)
        page = client.get("/")
        assert page.status_code == 200
        assert "No records yet" in page.text and 'href="/upload"' in page.text
        review = client.get("/review")
        assert review.status_code == 403  # an uploader does not review


def test_sign_in_follows_only_local_paths_and_a_revoked_key_ends_the_session(
    settings: Settings,
) -> None:
    key = create_key(settings.database_url, Role.VIEWER, "v")
    with TestClient(create_app(settings)) as client:
        client.get("/signin")
        csrf = client.cookies["shipdoc_signin_csrf"]
        response = client.post(
            "/signin",
            data={"api_key": key.token, "csrf": csrf, "next": "//evil.example/x"},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert client.get("/", follow_redirects=False).status_code == 200
        revoke_key(settings.database_url, key.id)
        gone = client.get("/", follow_redirects=False)
        assert gone.status_code == 303 and "expired=1" in gone.headers["location"]
        assert client.get("/v1/records").status_code == 401


def test_a_conversation_is_only_its_keys(settings: Settings) -> None:
    owner = create_key(settings.database_url, Role.OPERATOR, "a")
    other = create_key(settings.database_url, Role.OPERATOR, "b")
    with session_scope(settings.database_url) as session:
        session.add(
            ChatMessage(conversation_id="c1", role="user", content="hi", api_key_id=owner.id)
        )
    check_owner("c1", owner.id, settings)
    check_owner("new-id", other.id, settings)
    with pytest.raises(ConversationNotFound):
        check_owner("c1", other.id, settings)


def test_a_save_over_a_newer_version_is_refused(settings: Settings) -> None:
    token = create_key(settings.database_url, Role.OPERATOR, "o").token
    with session_scope(settings.database_url) as session:
        record_id = add_record(
            session, "x", "commercial_invoice", {"invoice_number": "INV-1", "currency": "EUR"}
        )
    headers = auth(token)
    with TestClient(create_app(settings)) as client:
        seen = client.get(f"/v1/records/{record_id}", headers=headers).json()["version"]
        first = client.post(
            f"/v1/records/{record_id}/review",
            json={"action": "approve", "version": seen},
            headers=headers,
        )
        assert first.status_code == 200 and first.json()["version"] == seen + 1
        second = client.post(
            f"/v1/records/{record_id}/review",
            json={"action": "correct", "fields": {"currency": "USD"}, "version": seen},
            headers=headers,
        )
        assert second.status_code == 409
        assert second.json()["error"]["code"] == "version_conflict"
        reviews = client.get(f"/v1/records/{record_id}", headers=headers).json()["reviews"]
        assert [r["action"] for r in reviews] == ["approve"]
