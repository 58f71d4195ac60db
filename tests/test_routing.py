"""Routing by complexity: tier decisions on feature fixtures, its speed, the sender's
history, and the decision stored on the run (and the large tier's model used when on)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from agent.models.scripted import ScriptedModel
from agent.pipeline import extract_document
from agent.routing import Features, decide, features_of, sender_key, tier_model
from core.db import session_scope
from core.models import AgentRun
from core.settings import ModelRef, ModelSettings, OpsSettings, Settings
from tests.agent_support import INVOICE_PAGE, TARIFF, invoice, reply, runs, store_document
from tools.provenance import PageText


def _f(**kw: object) -> Features:
    base: dict[str, object] = {
        "doc_type": "commercial_invoice",
        "pages": 1,
        "scanned_share": 0.0,
        "ocr_confidence": None,
        "line_items": 3,
        "sender": "s1",
        "sender_issues": 0,
    }
    return Features.model_validate(base | kw)


FIXTURES = [
    ("one-page text invoice", _f(), "local_small"),
    (
        "packing list, 3 pages, 12 rows",
        _f(doc_type="packing_list", pages=3, line_items=12),
        "local_small",
    ),
    (
        "scanned customs declaration, OCR 78",
        _f(doc_type="customs_declaration", pages=2, scanned_share=1.0, ocr_confidence=78.0),
        "local_large",
    ),
    ("invoice with 30 rows over 5 pages", _f(pages=5, line_items=30), "local_large"),
    (
        "poor 12-page scan with 60 rows",
        _f(pages=12, scanned_share=1.0, ocr_confidence=61.0, line_items=60),
        "hosted",
    ),
    ("clean invoice from a sender with 3 reviews", _f(sender_issues=3), "local_large"),
    (
        "scanned invoice, OCR 65, sender with reviews",
        _f(scanned_share=1.0, ocr_confidence=65.0, sender_issues=1),
        "hosted",
    ),
]


@pytest.mark.parametrize(("name", "features", "tier"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_tier_on_feature_fixtures(name: str, features: Features, tier: str) -> None:
    decision = decide(features)
    assert decision.tier == tier, (name, decision.score, decision.reasons)


def test_a_decision_takes_microseconds() -> None:
    features = _f(pages=12, scanned_share=1.0, ocr_confidence=61.0, line_items=60)
    n = 20_000
    started = time.perf_counter()
    for _ in range(n):
        decide(features)
    per_call_us = (time.perf_counter() - started) / n * 1e6
    print(f"routing decision: {per_call_us:.1f} us")
    assert per_call_us < 200


def test_features_from_pages() -> None:
    pages = [
        PageText(number=1, text="ACME GmbH\n2 Bolts 10.00\n5 Nuts 2.50", method="text"),
        PageText(number=2, text="3 Washers 1.25", method="ocr", confidence=72.5),
    ]
    f = features_of("commercial_invoice", pages)
    assert (f.pages, f.scanned_share, f.ocr_confidence, f.line_items) == (2, 0.5, 72.5, 3)
    assert f.sender == sender_key(pages) and f.sender
    assert sender_key([PageText(number=1, text="  Acme  GmbH ", method="text")]) == f.sender


def test_the_decision_is_stored_on_the_run_and_the_large_tier_runs(
    db: Settings, tmp_path: Path
) -> None:
    script = tmp_path / "large.json"
    script.write_text(json.dumps([json.dumps(invoice())]), encoding="utf-8")
    large = ModelRef(backend="scripted", name="large", script_path=script)
    settings = db.model_copy(update={"ops": OpsSettings(routing=True, large=large)})
    # a sender with a history of documents needing review goes to the large tier
    doc_ids = [store_document(db.database_url, [INVOICE_PAGE + f"\n{i}"]) for i in range(4)]
    for doc_id in doc_ids[:3]:
        small = ScriptedModel([reply(invoice())] * 3)
        extract_document(doc_id, settings=db, model=small, tariff=TARIFF)
    earlier = [runs(db.database_url, d)[0] for d in doc_ids[:3]]
    assert all(r.route_tier == "local_small" for r in earlier)
    # the sender's earlier documents needed review
    with session_scope(db.database_url) as session:
        session.execute(
            update(AgentRun)
            .where(AgentRun.id.in_([r.id for r in earlier]))
            .values(outcome="needs_review")
        )
    small = ScriptedModel([])
    outcome = extract_document(doc_ids[3], settings=settings, model=small, tariff=TARIFF)
    [run] = runs(db.database_url, doc_ids[3])
    assert run.route_tier == "local_large" and run.model == "large"
    assert run.route_features is not None and run.route_features["sender_issues"] == 3
    assert outcome.status == "extracted" and small.requests == []


def test_the_routed_tiers_are_one_client_per_process(settings: Settings) -> None:
    """The large and hosted tiers are built once per process, not per page group: one HTTP
    connection pool and one circuit breaker that sees every failure of the tier."""
    large = ModelRef(name="large", base_url="http://127.0.0.1:9/v1")
    model = ModelSettings(fallback_base_url="http://127.0.0.1:9/v1", fallback_name="hosted")
    routed = settings.model_copy(
        update={"model": model, "ops": OpsSettings(routing=True, large=large)}
    )
    small = ScriptedModel([])
    for tier in ("local_large", "hosted"):
        first = tier_model(routed, tier, small)
        assert first is not small
        assert tier_model(routed.model_copy(), tier, small) is first
    assert tier_model(routed, "local_large", small).name == "large"
    assert tier_model(routed, "hosted", small).name == "hosted"
    assert tier_model(routed, "local_small", small) is small
