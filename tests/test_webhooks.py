"""Webhooks end to end: a real receiver verifies Standard Webhooks signatures with the
reference verifier, sees the retries after it answers 500, sees a replay with the same
event id, and never sees a request that the SSRF guard refused (also after DNS rebinding).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.api import create_app
from core import migrate
from core.auth import create_key
from core.db import session_scope
from core.errors import InputError
from core.events import EventType, emit_event
from core.models import Role
from core.settings import Settings, WebhookSettings
from tests.factories import add_record
from tests.service_harness import WorkerProcess, auth, embedded_settings, wait_for
from tests.sim_model_server import SimServer, invoice_pdf
from tests.webhook_receiver import Received, receiver
from workers.webhooks import signing, targets
from workers.webhooks.delivery import deliver_due
from workers.webhooks.endpoints import add_endpoint, deliveries
from workers.webhooks.targets import TargetRefused, check_target

# The example of the Standard Webhooks specification (and its reference libraries).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_specification_test_vector() -> None:
    assert signing.sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    assert signing.verify(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, SPEC_SIGNATURE)
    assert not signing.verify(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP + 1, SPEC_BODY, SPEC_SIGNATURE)
    # and the reference verifier accepts a fresh message signed by us with a new secret
    secret = signing.new_secret()
    now = int(datetime.now(UTC).timestamp())
    headers = signing.headers([secret], "evt_1", now, b'{"a":1}')
    assert Webhook(secret).verify(b'{"a":1}', headers) == {"a": 1}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/x",
        "http://10.1.2.3/x",
        "http://192.168.0.10/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://100.64.0.1/x",
        "http://0.0.0.0/x",
        "http://localhost/x",
        "ftp://example.org/x",
        "http://user:pw@93.184.216.34/x",
    ],
)
def test_ssrf_guard_refuses_internal_and_malformed_targets(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_target(url, WebhookSettings())


def test_ssrf_guard_allow_list_and_deny_list() -> None:
    public = check_target("https://93.184.216.34/hook", WebhookSettings())
    assert public.address == "93.184.216.34" and public.port == 443
    allowed = WebhookSettings(allow_networks=["127.0.0.1/32"])
    assert check_target("http://127.0.0.1:9/x", allowed).address == "127.0.0.1"
    with pytest.raises(TargetRefused):
        check_target("http://127.0.0.2:9/x", allowed)
    with pytest.raises(TargetRefused):
        check_target("https://93.184.216.34/", WebhookSettings(deny_networks=["93.184.0.0/16"]))
    with pytest.raises(TargetRefused):
        check_target("https://93.184.216.34/", WebhookSettings(allowed_hosts=["hooks.example"]))
    with pytest.raises(TargetRefused):
        check_target("http://93.184.216.34/", WebhookSettings(require_https=True))


# --- end to end ----------------------------------------------------------------------------


def _settings(tmp_path: Path, db_url: str, **hooks: Any) -> Settings:
    webhooks = {
        "allow_networks": ["127.0.0.1/32"],
        "retry_schedule_s": [0.3, 0.6, 60],
        "poll_interval_s": 0.1,
        "timeout_s": 5,
        **hooks,
    }
    return Settings(
        environment="test", var_dir=tmp_path / "var", database_url=db_url, webhooks=webhooks
    )


@pytest.fixture
def service(tmp_path: Path, db_url: str) -> Iterator[tuple[TestClient, Settings, str, str]]:
    settings = _settings(tmp_path, db_url)
    admin = create_key(db_url, Role.ADMIN, "ada").token
    operator = create_key(db_url, Role.OPERATOR, "olga").token
    with TestClient(create_app(settings)) as client:  # the embedded delivery loop runs
        yield client, settings, admin, operator


def _record(url: str) -> int:
    with session_scope(url) as session:
        return add_record(
            session, "doc", "commercial_invoice", {"invoice_number": "INV-1"}, doc_status="x"
        )


def _verified(secret: str, request: Received) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return payload


def test_signed_delivery_retries_after_500_log_and_replay(
    service: tuple[TestClient, Settings, str, str],
) -> None:
    client, settings, admin, operator = service
    with receiver(script=[500, 500]) as hook:
        created = client.post(
            "/v1/webhooks",
            json={"url": hook.url, "events": ["record.reviewed"], "description": "TMS"},
            headers=auth(admin),
        )
        assert created.status_code == 201, created.text
        endpoint = created.json()
        secret = endpoint["secret"]
        assert secret.startswith("whsec_") and endpoint["events"] == ["record.reviewed"]
        assert (
            client.post("/v1/webhooks", json={"url": hook.url}, headers=auth(operator)).status_code
            == 403
        )

        record_id = _record(settings.database_url)
        reviewed = client.post(
            f"/v1/records/{record_id}/review", json={"action": "approve"}, headers=auth(operator)
        )
        assert reviewed.status_code == 200
        three = wait_for(lambda: len(hook.seen()) >= 3 and hook.seen(), 20, "three attempts")
        first, second, third = three[:3]
        # the same event, signed afresh each time, verified by the reference library
        bodies = [_verified(secret, r) for r in (first, second, third)]
        assert {r.headers["webhook-id"] for r in (first, second, third)} == {bodies[0]["id"]}
        assert bodies[0]["type"] == "record.reviewed"
        assert bodies[0]["data"]["record_id"] == record_id
        assert bodies[0]["data"]["action"] == "approve"
        assert first.path == "/hooks/shipdoc"
        # exponential schedule: 0.3 s then 0.6 s between attempts (with the poll interval)
        assert 0.25 <= second.at - first.at < 3 and 0.5 <= third.at - second.at < 3
        log = wait_for(
            lambda: (
                (
                    d := client.get(
                        f"/v1/webhooks/{endpoint['id']}/deliveries", headers=auth(admin)
                    ).json()
                )
                and d[0]["state"] == "succeeded"
                and d
            ),
            10,
            "the delivery to be logged as succeeded",
        )
        (delivery,) = log
        assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
        assert delivery["attempt_log"][0]["response_excerpt"] == "receiver says no"
        assert all(a["latency_ms"] > 0 for a in delivery["attempt_log"])

        # replay of one event: delivered again with the same id
        replay = client.post(
            f"/v1/webhooks/{endpoint['id']}/replay",
            json={"event_id": bodies[0]["id"]},
            headers=auth(admin),
        )
        assert replay.status_code == 202 and replay.json() == {"queued": 1}
        fourth = wait_for(lambda: len(hook.seen()) >= 4 and hook.seen()[3], 10, "the replay")
        assert fourth.headers["webhook-id"] == bodies[0]["id"]
        assert _verified(secret, fourth)["data"] == bodies[0]["data"]

        # replay of a time range: only the subscribed types
        with session_scope(settings.database_url) as session:
            emit_event(session, EventType.DOCUMENT_FAILED, {"document_id": 1}, document_id=1)
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        ranged = client.post(
            f"/v1/webhooks/{endpoint['id']}/replay", json={"since": since}, headers=auth(admin)
        )
        assert ranged.json() == {"queued": 1}
        fifth = wait_for(lambda: len(hook.seen()) >= 5 and hook.seen()[4], 10, "range replay")
        assert fifth.headers["webhook-id"] == bodies[0]["id"]


def test_rotation_signs_with_both_secrets_during_the_overlap(
    service: tuple[TestClient, Settings, str, str],
) -> None:
    client, settings, admin, _ = service
    with receiver() as hook:
        endpoint = client.post("/v1/webhooks", json={"url": hook.url}, headers=auth(admin)).json()
        old = endpoint["secret"]
        rotated = client.post(
            f"/v1/webhooks/{endpoint['id']}/rotate-secret",
            json={"overlap_s": 3600},
            headers=auth(admin),
        ).json()
        new = rotated["secret"]
        assert new != old
        with session_scope(settings.database_url) as session:
            emit_event(session, EventType.DOCUMENT_REJECTED, {"document_id": 5}, document_id=5)
        (request,) = wait_for(lambda: hook.seen(), 10, "a delivery")
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        assert _verified(old, request) == _verified(new, request)
        # without an overlap the old secret stops at once
        client.post(
            f"/v1/webhooks/{endpoint['id']}/rotate-secret",
            json={"overlap_s": 0},
            headers=auth(admin),
        )
        with session_scope(settings.database_url) as session:
            emit_event(session, EventType.DOCUMENT_REJECTED, {"document_id": 6}, document_id=6)
        second = wait_for(lambda: len(hook.seen()) >= 2 and hook.seen()[1], 10, "second")
        with pytest.raises(WebhookVerificationError):
            _verified(new, second)  # `new` is the previous secret now


def test_denied_targets_never_receive_a_request_even_after_dns_rebinding(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, db_url, poll_interval_s=0.1)
    admin = create_key(db_url, Role.ADMIN, "ada").token
    with (
        receiver("127.0.0.1") as allowed,
        receiver("127.0.0.2") as internal,
        TestClient(create_app(settings)) as client,
    ):
        refused = client.post("/v1/webhooks", json={"url": internal.url}, headers=auth(admin))
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "webhook_target_refused"
        # a host name that resolves to the allowed receiver at registration ...
        dns = {"hooks.rebind.test": ["127.0.0.1"]}
        monkeypatch.setattr(targets, "resolve", lambda host, port: dns[host])
        url = f"http://hooks.rebind.test:{internal.port}/x"
        created = client.post("/v1/webhooks", json={"url": url}, headers=auth(admin))
        assert created.status_code == 201, created.text
        # ... and to an internal address when the event goes out
        dns["hooks.rebind.test"] = ["127.0.0.2"]
        with session_scope(settings.database_url) as session:
            emit_event(session, EventType.DOCUMENT_FAILED, {"document_id": 1}, document_id=1)
        endpoint_id = created.json()["id"]
        log = wait_for(
            lambda: (
                (
                    d := client.get(
                        f"/v1/webhooks/{endpoint_id}/deliveries", headers=auth(admin)
                    ).json()
                )
                and d[0]["attempt_log"]
                and d
            ),
            10,
            "a refused attempt",
        )
        attempt = log[0]["attempt_log"][0]
        assert attempt["status_code"] is None and attempt["error"].startswith("refused:")
        assert internal.seen() == [] and allowed.seen() == []


def test_endpoint_disabled_after_failures_and_enabled_by_an_admin(
    tmp_path: Path, db_url: str
) -> None:
    settings = _settings(
        tmp_path, db_url, disable_after_failures=3, retry_schedule_s=[0.1, 0.1, 0.1, 0.1]
    )
    admin = create_key(db_url, Role.ADMIN, "ada").token
    with receiver(script=[500] * 3) as hook, TestClient(create_app(settings)) as client:
        endpoint = client.post("/v1/webhooks", json={"url": hook.url}, headers=auth(admin)).json()
        with session_scope(settings.database_url) as session:
            emit_event(session, EventType.DOCUMENT_FAILED, {"document_id": 1}, document_id=1)
        disabled = wait_for(
            lambda: (
                not (e := client.get(f"/v1/webhooks/{endpoint['id']}", headers=auth(admin)).json())[
                    "enabled"
                ]
                and e
            ),
            10,
            "the endpoint to be disabled",
        )
        assert disabled["disabled_reason"].startswith("auto:")
        assert disabled["consecutive_failures"] == 3 and len(hook.seen()) == 3
        # events still queue for an endpoint disabled by failures, and go out once enabled
        with session_scope(settings.database_url) as session:
            emit_event(session, EventType.DOCUMENT_FAILED, {"document_id": 2}, document_id=2)
        assert deliver_due(settings) == 0 and len(hook.seen()) == 3
        enabled = client.post(f"/v1/webhooks/{endpoint['id']}/enable", headers=auth(admin))
        assert enabled.json()["enabled"] and enabled.json()["consecutive_failures"] == 0
        wait_for(lambda: len(hook.seen()) >= 5, 10, "both events after enabling")
        ids = [json.loads(r.body)["data"]["document_id"] for r in hook.seen()[3:]]
        assert sorted(ids) == [1, 2]
        listed = client.get("/v1/webhooks", headers=auth(admin)).json()
        assert listed[0]["enabled"] and "secret" not in listed[0]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_celery_webhooks_worker_delivers_and_its_schedule_survives_a_restart(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    """`shipdoc worker -Q webhooks` (beat embedded) delivers; killed while a retry is
    scheduled, a new worker sends that retry from the stored next_attempt_at."""
    migrate.upgrade(postgres_url)
    prefix = f"shipdoc-test-{uuid.uuid4().hex[:8]}:"
    settings = Settings(
        environment="test",
        var_dir=tmp_path / "var",
        database_url=postgres_url,
        service={"broker_url": redis_url, "key_prefix": prefix},
        webhooks={
            "allow_networks": ["127.0.0.1/32"],
            "retry_schedule_s": [6, 6],
            "poll_interval_s": 0.5,
        },
    )
    worker = WorkerProcess(settings, tmp_path / "webhooks.log", queues="webhooks")
    try:
        with receiver(script=[500]) as hook:
            endpoint = add_endpoint(settings, hook.url)
            worker.wait_ready()
            with session_scope(postgres_url) as session:
                emit_event(session, EventType.DOCUMENT_FAILED, {"document_id": 7}, document_id=7)
            (first,) = wait_for(lambda: hook.seen(), 30, "the first attempt", 0.05)
            wait_for(lambda: deliveries(settings, endpoint.id)[0].attempt_log, 10, "the 500 logged")
            worker.kill()  # a retry is due in 6 s; nobody is left to send it
            worker = WorkerProcess(settings, tmp_path / "webhooks2.log", queues="webhooks")
            worker.wait_ready()
            try:
                second = wait_for(lambda: len(hook.seen()) >= 2 and hook.seen()[1], 40, "the retry")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; worker log:\n{worker.log()[-3000:]}") from exc
            assert second.headers["webhook-id"] == first.headers["webhook-id"]
            assert 5.5 <= second.at - first.at < 30
            _verified(endpoint.secret, second)
            (delivery,) = wait_for(
                lambda: (d := deliveries(settings, endpoint.id))[0].state == "succeeded" and d,
                10,
                "the delivery to be logged as succeeded",
            )
            assert [a.status_code for a in delivery.attempt_log] == [500, 200]
    finally:
        worker.stop()
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()


def test_uploads_through_the_pipeline_reach_the_feed_and_the_webhook(tmp_path: Path) -> None:
    """The real pipeline (embedded, simulated model) emits record.extracted for an invoice
    and document.rejected for a damaged file; both reach the feed and the receiver."""
    with SimServer(latency=0.0) as sim, receiver() as hook:
        settings = embedded_settings(tmp_path / "var", sim.url).model_copy(
            update={
                "webhooks": WebhookSettings(allow_networks=["127.0.0.1/32"], poll_interval_s=0.1)
            }
        )
        with TestClient(create_app(settings)) as client:
            admin = create_key(settings.database_url, Role.ADMIN, "ada").token
            secret = client.post(
                "/v1/webhooks", json={"url": hook.url}, headers=auth(admin)
            ).json()["secret"]
            files = [
                ("files", ("invoice.pdf", invoice_pdf("INV-7001"), "application/pdf")),
                ("files", ("broken.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50, "application/pdf")),
            ]
            uploaded = client.post("/v1/documents", files=files, headers=auth(admin)).json()
            invoice_id, broken_id = (d["document_id"] for d in uploaded["documents"])
            events = wait_for(
                lambda: (
                    len(e := client.get("/v1/events", headers=auth(admin)).json()["items"]) >= 2
                    and e
                ),
                60,
                "the pipeline's events",
            )
            kinds = {(e["type"], e["data"]["document_id"]) for e in events}
            assert ("record.extracted", invoice_id) in kinds
            assert ("document.rejected", broken_id) in kinds
            received = wait_for(lambda: len(hook.seen()) >= len(events) and hook.seen(), 10, "all")
            assert sorted(_verified(secret, r)["id"] for r in received) == sorted(
                e["id"] for e in events
            )


def test_an_event_committed_in_process_is_sent_at_once_not_at_the_next_poll(
    tmp_path: Path, db_url: str
) -> None:
    settings = _settings(tmp_path, db_url, poll_interval_s=30)
    admin = create_key(db_url, Role.ADMIN, "ada").token
    with receiver() as hook, TestClient(create_app(settings)) as client:
        client.post("/v1/webhooks", json={"url": hook.url}, headers=auth(admin))
        time.sleep(0.5)  # the loop's first poll has passed; the next is 30 s away
        started = time.monotonic()
        with session_scope(settings.database_url) as session:
            emit_event(session, EventType.DOCUMENT_FAILED, {"document_id": 3}, document_id=3)
        (request,) = wait_for(lambda: hook.seen(), 5, "the delivery")
        assert request.at - started < 3
        # a rolled-back event wakes nobody and sends nothing
        with pytest.raises(RuntimeError), session_scope(settings.database_url) as session:
            emit_event(session, EventType.DOCUMENT_FAILED, {"document_id": 4}, document_id=4)
            raise RuntimeError("rolled back")
        time.sleep(1)
        assert len(hook.seen()) == 1


def test_webhooks_cli_administers_endpoints(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from app.cli import app as cli
    from core.settings import get_settings

    monkeypatch.setenv("SHIPDOC_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SHIPDOC_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SHIPDOC_WEBHOOKS__ALLOW_NETWORKS", '["127.0.0.1/32"]')
    get_settings.cache_clear()
    run = CliRunner().invoke
    try:
        with receiver() as hook:
            added = run(cli, ["webhooks", "add", hook.url, "-e", "document.failed,record.reviewed"])
            assert added.exit_code == 0, added.output
            secret = added.stdout.strip().splitlines()[-1]
            assert secret.startswith("whsec_")
            listed = run(cli, ["webhooks", "list"]).stdout
            assert hook.url in listed and "document.failed,record.reviewed" in listed
            assert "disabled" in run(cli, ["webhooks", "disable", "1"]).stdout
            assert "\tenabled" in run(cli, ["webhooks", "enable", "1"]).stdout
            with session_scope(sqlite_url) as session:
                event = emit_event(session, EventType.DOCUMENT_FAILED, {"document_id": 1})
                event_id = event.event_id
            assert run(cli, ["webhooks", "deliver"]).stdout.strip() == "1 attempts made"
            rotated = run(cli, ["webhooks", "rotate-secret", "1", "--overlap-hours", "1"])
            new_secret = rotated.stdout.strip().splitlines()[-1]
            assert new_secret.startswith("whsec_") and new_secret != secret
            replayed = run(cli, ["webhooks", "replay", "1", "--event", event_id])
            assert replayed.stdout.strip() == "1 deliveries queued"
            run(cli, ["webhooks", "deliver"])
            first, second = hook.seen()
            assert _verified(secret, first)["id"] == event_id
            assert _verified(new_secret, second)["id"] == _verified(secret, second)["id"]
            log = [
                json.loads(line)
                for line in run(cli, ["webhooks", "deliveries", "1"]).stdout.splitlines()
            ]
            assert [d["state"] for d in log] == ["succeeded", "succeeded"]
            assert log[0]["replay"] and not log[1]["replay"]
            refused = run(cli, ["webhooks", "add", "http://10.0.0.8/hook"])
            assert isinstance(refused.exception, TargetRefused)
            bad = run(cli, ["webhooks", "add", hook.url, "--events", "record.deleted"])
            assert isinstance(bad.exception, InputError) and "record.deleted" in str(bad.exception)
            assert run(cli, ["webhooks", "remove", "1"]).exit_code == 0
            assert run(cli, ["webhooks", "list"]).stdout.strip() == ""
    finally:
        get_settings.cache_clear()
