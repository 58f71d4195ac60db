"""`shipdoc keys` and the start-up checks of `shipdoc worker`."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from app.cli import app
from core.auth import authenticate
from core.errors import ConfigurationError
from core.models import Role
from core.settings import Settings, get_settings

runner = CliRunner()


def test_keys_create_prints_a_working_token_once_then_list_and_revoke(settings: Settings) -> None:
    created = runner.invoke(app, ["keys", "create", "--role", "operator", "--name", "night shift"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    principal = authenticate(settings.database_url, token)
    assert principal.role is Role.OPERATOR and principal.name == "night shift"

    listed = runner.invoke(app, ["keys", "list"])
    assert "night shift" in listed.stdout and "operator" in listed.stdout
    assert token not in listed.stdout  # only a prefix is ever shown again

    revoked = runner.invoke(app, ["keys", "revoke", str(principal.key_id)])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert "revoked" in runner.invoke(app, ["keys", "list"]).stdout


def test_keys_create_refuses_an_unknown_role(settings: Settings) -> None:
    result = runner.invoke(app, ["keys", "create", "--role", "superuser"])
    assert result.exit_code == 2 and "superuser" in result.output


def test_worker_refuses_to_start_without_a_broker(settings: Settings) -> None:
    result = runner.invoke(app, ["worker", "--queues", "extract"])
    assert isinstance(result.exception, ConfigurationError)
    assert "SHIPDOC_SERVICE__BROKER_URL" in str(result.exception)


def test_worker_refuses_an_unknown_queue(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPDOC_SERVICE__BROKER_URL", "redis://127.0.0.1:6379/15")
    get_settings.cache_clear()
    result = runner.invoke(app, ["worker", "--queues", "extract,chat"])
    assert isinstance(result.exception, ConfigurationError)
    assert "chat" in str(result.exception)
