"""Costs: the fallback attempt's cost and the failed primary's both kept on the run; the
cost report (self-hosted amortised over measured volume against hosted prices, fallback,
eval and shadow spend, break-even) from the CLI and the API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from agent.models.base import ModelUnavailable
from agent.models.router import Price, Route, RoutedModel
from agent.models.scripted import ScriptedModel
from agent.pipeline import extract_document
from app.api import create_app
from app.cli import app as cli
from app.costs import cost_report
from core.auth import create_key
from core.db import session_scope
from core.models import EvalResult, Role, utcnow
from core.settings import OpsSettings, Settings, get_settings
from tests.agent_support import INVOICE_PAGE, TARIFF, invoice, reply, runs, store_document
from tests.service_harness import auth

PRIMARY = Price(prompt_per_m=1.0, completion_per_m=2.0)
HOSTED = Price(prompt_per_m=10.0, completion_per_m=30.0)


def _fallen_back(db: Settings) -> int:
    primary = ScriptedModel([ModelUnavailable("503"), ModelUnavailable("503")], name="qwen-72b")
    fallback = ScriptedModel([reply(invoice())], name="hosted")
    model = RoutedModel(
        Route(primary, PRIMARY, retries=1), Route(fallback, HOSTED), sleep=lambda _s: None
    )
    doc_id = store_document(db.database_url, [INVOICE_PAGE])
    assert extract_document(doc_id, settings=db, model=model, tariff=TARIFF).status == "extracted"
    return doc_id


def test_fallback_and_failed_primary_costs_are_both_kept_on_the_run(db: Settings) -> None:
    doc_id = _fallen_back(db)
    [run] = runs(db.database_url, doc_id)
    assert run.fallback_requests == 1
    assert run.fallback_cost is not None and run.fallback_cost > 0
    assert run.cost == pytest.approx(run.fallback_cost)
    fallback_cost = (run.prompt_tokens * 10.0 + run.completion_tokens * 30.0) / 1e6
    assert run.fallback_cost == pytest.approx(fallback_cost)
    # two failed attempts on the primary, each sent the prompt (~4 characters a token)
    assert run.failed_primary_cost is not None
    assert 0 < run.failed_primary_cost < run.fallback_cost
    assert run.failed_primary_cost == pytest.approx(2 * run.prompt_tokens * 1.0 / 1e6, rel=0.5)


def _priced(db: Settings) -> Settings:
    ops = OpsSettings(
        gpu_monthly=1500.0,
        gpus=2,
        node_monthly=600.0,
        hosted_price_prompt_per_m=2.5,
        hosted_price_completion_per_m=10.0,
    )
    return db.model_copy(update={"ops": ops})


def test_the_cost_report_amortises_and_compares(db: Settings) -> None:
    settings = _priced(db)
    for i in range(3):
        doc_id = store_document(db.database_url, [INVOICE_PAGE + f"\n#{i}"])
        model = ScriptedModel([reply(invoice())], name="qwen-72b")
        extract_document(doc_id, settings=db, model=model, tariff=TARIFF)
    _fallen_back(db)
    with session_scope(db.database_url) as session:
        session.add(
            EvalResult(batch="b", role="reference", model="ref", prompt_version="p", cost=0.25)
        )
    since = utcnow() - timedelta(days=3)
    report = cost_report(settings, since)
    assert report.documents == 4
    assert report.self_hosted_monthly == 3600.0
    assert report.self_hosted_period == pytest.approx(3600.0 * 3 / 30, rel=1e-3)
    assert report.self_hosted_per_document == pytest.approx(report.self_hosted_period / 4, 1e-3)
    hosted = (report.prompt_tokens * 2.5 + report.completion_tokens * 10.0) / 1e6
    assert report.hosted_equivalent_period == pytest.approx(hosted, rel=1e-3)
    assert report.break_even_documents_per_month == pytest.approx(3600.0 / (hosted / 4), rel=1e-3)
    assert report.cheaper == "hosted"  # four documents cannot carry two GPUs
    assert report.fallback_requests == 1 and report.fallback_spend > 0
    assert report.failed_primary_spend > 0 and report.eval_spend == 0.25
    assert set(report.by_model) == {"qwen-72b"}
    assert report.by_type["commercial_invoice"].documents == 4
    assert len(report.per_document) == 4


def test_cost_report_from_the_cli_and_the_api(
    db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fallen_back(db)
    monkeypatch.setenv("SHIPDOC_DATABASE_URL", db.database_url)
    monkeypatch.setenv("SHIPDOC_OPS__GPU_MONTHLY", "1500")
    monkeypatch.setenv("SHIPDOC_OPS__HOSTED_PRICE_PROMPT_PER_M", "2.5")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["cost", "report", "--since", "1d", "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["documents"] == 1 and data["self_hosted_monthly"] == 3000.0
        text = CliRunner().invoke(cli, ["cost", "report", "--since", "2026-01-01"])
        assert text.exit_code == 0 and "break-even" in text.output
        bad = CliRunner().invoke(cli, ["cost", "report", "--since", "last tuesday"])
        assert bad.exit_code != 0
        settings = get_settings()
    finally:
        get_settings.cache_clear()
    with TestClient(create_app(settings)) as client:
        token = create_key(settings.database_url, Role.VIEWER, "v").token
        got = client.get("/v1/costs/report?since=1d", headers=auth(token))
        assert got.status_code == 200 and got.json()["documents"] == 1
        shadow = client.get("/v1/shadow/report?since=7d", headers=auth(token))
        assert shadow.status_code == 200 and shadow.json()["runs"] == 0
        bad_period = client.get("/v1/costs/report?since=yesterday", headers=auth(token))
        assert bad_period.status_code == 422
        assert client.get("/v1/costs/report").status_code == 401
