"""The API against its contract (issue 10): schemathesis generates requests for every
operation of our OpenAPI schema and sends them with each role's key (and none) to a real
server; no 5xx, and every documented response matches its schema."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.api import create_app
from core.auth import create_key
from core.models import Role
from tests.service_harness import embedded_settings, wait_for
from tests.sim_model_server import SimServer

# Left out: streamed answers (chat, export), what reaches other hosts or runs for minutes
# (webhook registration and delivery, knowledge-base ingestion), and /readyz, whose 503
# "not ready" is its documented answer (no knowledge base is built here).
EXCLUDED = r"^(/v1/(chat|export|webhooks|kb/ingest)|/readyz)"
EXAMPLES = 12


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    var = tmp_path_factory.mktemp("contract") / "var"
    with SimServer(latency=0.0) as sim:
        app_settings = embedded_settings(var, sim.url)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        srv = uvicorn.Server(
            uvicorn.Config(create_app(app_settings), log_level="warning", lifespan="on")
        )
        thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        wait_for(lambda: srv.started, 30, "the server to start")
        keys = {
            role.value: create_key(app_settings.database_url, role, f"st-{role.value}").token
            for role in Role
        }
        try:
            yield f"http://127.0.0.1:{port}", keys
        finally:
            srv.should_exit = True
            thread.join(timeout=30)
            sock.close()


@pytest.mark.slow
@pytest.mark.parametrize("role", ["anonymous", *[r.value for r in Role]])
def test_no_server_error_and_no_response_outside_the_schema(
    server: tuple[str, dict[str, str]], role: str
) -> None:
    base_url, keys = server
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json").exclude(path_regex=EXCLUDED)
    headers = {"Authorization": f"Bearer {keys[role]}"} if role in keys else {}
    failures: list[str] = []
    calls = {"n": 0}
    for result in schema.get_all_operations():
        _fuzz(result.ok(), base_url, headers, failures, calls)
    print(f"\nschemathesis [{role}]: {calls['n']} requests, {len(failures)} failures")
    assert not failures, "\n".join(failures[:20])


def _fuzz(
    operation: Any,
    base_url: str,
    headers: dict[str, str],
    failures: list[str],
    calls: dict[str, int],
) -> None:
    if True:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def run(data: st.DataObject) -> None:
            case = data.draw(operation.as_strategy())
            calls["n"] += 1
            try:
                case.call_and_validate(
                    base_url=base_url,
                    headers=headers,
                    checks=[not_a_server_error, response_schema_conformance],
                    timeout=30,
                )
            except Exception as exc:  # collected: one report for every operation
                failures.append(f"{operation.label}: {str(exc)[:300]}")

        run()
