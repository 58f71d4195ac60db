"""The harness hands a child process the test's settings through its environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.settings import Settings
from tests.service_harness import service_env


def test_a_child_reads_back_every_setting_of_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = Settings(
        environment="test",
        var_dir=tmp_path / "var",
        database_url="postgresql://shipdoc@127.0.0.1:5432/x",
        secret_key="s3cret",
        model={"backend": "openai", "base_url": "http://m", "breaker_reset_s": 0.5},
        kb={"docs_dir": tmp_path / "docs", "qdrant_path": tmp_path / "q"},
        service={"broker_url": "redis://127.0.0.1:6379/5", "visibility_timeout_s": 4},
        agent={"prompt_hints": True, "constrained_output": False},
        telemetry={"warmup": "off"},
        ops={"shadow_share": 0.5, "shadow": {"name": "cand", "base_url": "http://c"}},
        webhooks={"allow_networks": ["127.0.0.1/32"], "retry_schedule_s": [0.1, 0.2]},
        reliability={"model_outage_budget_s": 2.0},
    )
    env = service_env(parent)
    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    child = Settings(_env_file=None)  # type: ignore[call-arg]
    assert child.model_dump() == parent.model_dump()
    assert env["PYTHONUNBUFFERED"] == "1"
