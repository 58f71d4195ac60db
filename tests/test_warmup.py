"""Warm-up: one short request on the extraction prefix; a worker in ``block`` mode reports
ready (heartbeat) only after the model answered, before it takes any document."""

from __future__ import annotations

import socket
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis

from agent.models.base import ModelUnavailable
from agent.models.scripted import ScriptedModel
from agent.warmup import warm_up
from core import migrate
from core.settings import Settings
from tests.service_harness import WorkerProcess, wait_for
from tests.sim_model_server import SimServer
from workers import presence


def test_warm_up_sends_the_extraction_prefix_and_asks_for_one_token() -> None:
    model = ScriptedModel(["OK"], name="m")
    result = warm_up(model)
    assert result.ok and result.model == "m"
    [request] = model.requests
    assert request.max_tokens == 1
    assert request.messages[0].role == "system" and len(request.messages[0].content) > 200


def test_a_failed_warm_up_is_reported_not_raised() -> None:
    result = warm_up(ScriptedModel([ModelUnavailable("down")], name="m"))
    assert not result.ok and "down" in (result.error or "")


@pytest.mark.postgres
@pytest.mark.redis
def test_a_blocking_worker_is_ready_only_after_its_warm_up(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    migrate.upgrade(postgres_url)
    prefix = f"i13-{uuid.uuid4().hex[:8]}:"
    client = redis.Redis.from_url(redis_url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with SimServer(latency=1.5) as sim:
        settings = Settings(
            environment="test",
            var_dir=tmp_path / "var",
            database_url=postgres_url,
            model={"backend": "openai", "base_url": sim.url, "name": "sim", "retries": 0},
            service={"broker_url": redis_url, "key_prefix": prefix},
            telemetry={"warmup": "block", "worker_metrics_port": port},
        )
        worker = WorkerProcess(settings, tmp_path / "worker.log")
        try:
            [beat] = wait_for(lambda: presence.read(client, prefix), 60, "a heartbeat")
            assert not beat.ready and sim.behaviour.requests <= 1
            worker.wait_ready()
            [beat] = presence.read(client, prefix)
            assert beat.ready and beat.queue == "extract"
            assert sim.behaviour.requests == 1
            # the worker's own metrics (the compose health check reads the ready gauge)
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
            ready = [line for line in text.splitlines() if line.startswith("shipdoc_worker_ready{")]
            assert ready and ready[0].endswith(" 1.0"), ready
            warm = [
                line
                for line in text.splitlines()
                if line.startswith("shipdoc_model_requests_total{") and 'purpose="warmup"' in line
            ]
            assert warm and warm[0].endswith(" 1.0"), warm
        finally:
            worker.stop()
            for key in client.scan_iter(match=prefix + "*"):
                client.delete(key)
            client.close()
