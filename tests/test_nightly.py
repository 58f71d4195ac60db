"""Nightly evals: every configured model scored on golden files by #12's eval machinery,
results stored per model and prompt version, and the drift alert on a scripted drop
(below the reference; below its own last week) as metric, log and event."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from agent.models.base import ChatRequest, ChatResponse, ModelUnavailable, Usage
from agent.models.router import Price, Route, RoutedModel
from app.api import create_app
from app.schedule import NIGHTLY_EVAL, register, schedule_nightly
from core.auth import create_key
from core.db import session_scope
from core.models import EvalResult, Event, Role, utcnow
from core.records import record_to_values
from core.settings import Settings
from evals.corpus import GroundTruth
from evals.goldenset import load_golden_truth
from evals.nightly import run_nightly
from tests.service_harness import auth
from workers.celery_app import build_app

FILES = ("c2026-0008-inv", "c2026-0006-bl")


class Oracle:
    """Answers with the ground truth of the document it is shown; ``drop`` fields blank."""

    backend = "scripted"

    def __init__(self, name: str, truths: list[GroundTruth], drop: tuple[str, ...] = ()) -> None:
        self.name = name
        self.answers: dict[str, dict[str, Any]] = {}
        for truth in truths:
            for doc in truth.documents:
                values = record_to_values(doc).model_dump()
                for field in drop:
                    values.pop(field, None)
                key = next(str(f.value) for k, f in doc.fields.items() if k.endswith("number"))
                self.answers[key] = values

    def chat(self, request: ChatRequest) -> ChatResponse:
        text = "\n".join(m.content for m in request.messages)
        record = next((v for k, v in self.answers.items() if k in text), {})
        return ChatResponse(content=json.dumps(record), model=self.name, backend="scripted")


@pytest.fixture(scope="module")
def truths() -> list[GroundTruth]:
    return [t for t in load_golden_truth() if t.id in FILES]


DROPPED = ("invoice_number", "invoice_date", "bl_number", "shipper", "consignee", "currency")


def test_a_scripted_drop_below_the_reference_raises_the_drift_alert(
    db: Settings, truths: list[GroundTruth], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    models = {
        "production": Oracle("prod-72b", truths, drop=DROPPED),
        "fallback": Oracle("hosted-fallback", truths),
        "reference": Oracle("reference", truths),
    }
    with caplog.at_level(logging.WARNING, logger="evals.nightly"):
        report = run_nightly(db, models, tmp_path / "work", truths=truths)  # type: ignore[arg-type]
    scores = {r.role: r for r in report.results}
    assert set(scores) == {"production", "fallback", "reference"}
    assert scores["reference"].accuracy > 0.8 and scores["reference"].documents == 2
    # sliced by the routing tier each golden file was given
    assert scores["reference"].by_tier and set(scores["reference"].by_tier) <= {
        "local_small",
        "local_large",
        "hosted",
    }
    drop = 100 * (scores["reference"].accuracy - scores["production"].accuracy)
    assert drop > 2
    [drift] = report.drifts
    assert (drift.model, drift.reason) == ("prod-72b", "below_reference")
    assert drift.points == pytest.approx(drop, abs=0.01)
    assert "model drift: prod-72b" in caplog.text
    with session_scope(db.database_url) as session:
        rows = session.scalars(select(EvalResult)).all()
        assert {(r.role, r.model) for r in rows} == {
            ("production", "prod-72b"),
            ("fallback", "hosted-fallback"),
            ("reference", "reference"),
        }
        assert all(r.prompt_version and r.batch == report.batch for r in rows)
        [event] = session.scalars(select(Event).where(Event.type == "eval.drift")).all()
        assert event.payload["reason"] == "below_reference"

    with TestClient(create_app(db)) as client:
        text = client.get("/metrics").text
        token = create_key(db.database_url, Role.VIEWER, "v").token
        nightly = client.get("/v1/evals/nightly", headers=auth(token)).json()
    samples = {
        (f.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    drift_key = ("shipdoc_eval_drift", (("model", "prod-72b"), ("reason", "below_reference")))
    assert samples[drift_key] == 1
    assert any(name == "shipdoc_eval_tier_accuracy" for name, _ in samples)
    assert [d["reason"] for d in nightly["drifts"]] == ["below_reference"]
    assert {r["role"] for r in nightly["latest"]} == {"production", "fallback", "reference"}


def test_a_drop_below_last_week_raises_the_alert_without_a_reference(
    db: Settings, truths: list[GroundTruth], tmp_path: Path
) -> None:
    week_ago = utcnow() - timedelta(days=7)
    good = run_nightly(
        db, {"production": Oracle("prod", truths)}, tmp_path / "w1", truths=truths, now=week_ago
    )  # type: ignore[dict-item]
    assert good.drifts == []
    steady = run_nightly(db, {"production": Oracle("prod", truths)}, tmp_path / "w2", truths=truths)  # type: ignore[dict-item]
    assert steady.drifts == []
    worse = run_nightly(
        db, {"production": Oracle("prod", truths, drop=DROPPED)}, tmp_path / "w3", truths=truths
    )  # type: ignore[dict-item]
    [drift] = worse.drifts
    assert drift.reason == "below_last_week" and drift.points > 2


def test_an_unreachable_model_is_a_failed_eval_not_a_drift(
    db: Settings, truths: list[GroundTruth], tmp_path: Path
) -> None:
    class Down:
        name = "down"
        backend = "scripted"

        def chat(self, request: ChatRequest) -> ChatResponse:
            raise ModelUnavailable("connection refused")

    report = run_nightly(
        db,
        {"production": Down(), "reference": Oracle("reference", truths)},  # type: ignore[dict-item]
        tmp_path / "w",
        truths=truths,
    )
    assert report.drifts == []
    production = next(r for r in report.results if r.role == "production")
    assert production.error


def test_the_nightly_eval_is_on_the_beat_schedule(db: Settings) -> None:
    service = db.service.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    worker_app = build_app(db.model_copy(update={"service": service}))
    embedded = dict(worker_app.conf.beat_schedule)
    register(worker_app)
    # a worker knows the task but its embedded beat (webhooks) never sends it
    assert NIGHTLY_EVAL in worker_app.tasks and worker_app.conf.beat_schedule == embedded
    assert worker_app.conf.task_routes[NIGHTLY_EVAL] == {"queue": "kb"}
    beat_app = build_app(db.model_copy(update={"service": service}))
    schedule_nightly(beat_app, db)
    [entry] = beat_app.conf.beat_schedule.values()
    assert entry["task"] == NIGHTLY_EVAL
    assert entry["schedule"].hour == {db.ops.nightly_hour}


def test_each_tier_s_tokens_are_priced_at_its_own_price(
    db: Settings, truths: list[GroundTruth], tmp_path: Path
) -> None:
    """The production model's primary is down and the hosted fallback answers: the eval's
    cost is the fallback's tokens at the fallback's price, not at the primary's."""

    class Down:
        name = "prod-72b"
        backend = "scripted"

        def chat(self, request: ChatRequest) -> ChatResponse:
            raise ModelUnavailable("connection refused")

    class Hosted(Oracle):
        calls = 0

        def chat(self, request: ChatRequest) -> ChatResponse:
            Hosted.calls += 1
            reply = super().chat(request)
            return reply.model_copy(
                update={"usage": Usage(prompt_tokens=1000, completion_tokens=100)}
            )

    production = RoutedModel(
        Route(Down(), Price(prompt_per_m=100.0, completion_per_m=100.0), retries=0),  # type: ignore[arg-type]
        Route(Hosted("hosted", truths), Price(prompt_per_m=1.0, completion_per_m=2.0), retries=0),  # type: ignore[arg-type]
        sleep=lambda _s: None,
    )
    report = run_nightly(db, {"production": production}, tmp_path / "w", truths=truths)
    [row] = report.results
    assert row.error is None and Hosted.calls > 0
    assert row.cost == pytest.approx(Hosted.calls * (1000 * 1.0 + 100 * 2.0) / 1_000_000)
