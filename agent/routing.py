"""Routing by complexity: a deterministic classifier picks the model tier of a page group.

Never a model call: a few integer comparisons over features that parsing and
classification already produced (microseconds; ``bench`` in tests/test_routing.py). The
only feature that costs a query is the sender's history (earlier runs of documents whose
first line matched, read from the runs table once per group).

Tiers: ``local_small`` (the production model), ``local_large`` (``SHIPDOC_OPS__LARGE__*``)
and ``hosted`` (the configured fallback). With ``SHIPDOC_OPS__ROUTING`` off the decision
is still computed and stored on the run (so shadow and nightly results can be sliced by
tier and an operator sees what routing would do) but the production model runs.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.models.base import ChatModel
from agent.models.factory import hosted_model, shared_ref_model
from core.models import AgentRun
from core.settings import Settings
from tools.provenance import PageText

Tier = Literal["local_small", "local_large", "hosted"]
TIERS: tuple[Tier, ...] = ("local_small", "local_large", "hosted")

# A line-item row: a quantity and an amount with decimals on one line.
_ROW = re.compile(r"\d[\d.,]*\s+\S.*?\d+[.,]\d{2}\b")
_SENDER_CHARS = re.compile(r"[^a-z0-9]+")
# How far back the sender's history is read.
HISTORY_RUNS = 500


class Features(BaseModel):
    doc_type: str
    pages: int
    scanned_share: float
    ocr_confidence: float | None
    line_items: int
    sender: str
    sender_issues: int = 0


class Decision(BaseModel):
    tier: Tier
    score: int
    reasons: list[str]
    features: Features


def sender_key(pages: list[PageText]) -> str:
    """A fingerprint of the letterhead: the first text line of the first page."""
    first = next((line for p in pages for line in p.text.splitlines() if line.strip()), "")
    norm = _SENDER_CHARS.sub(" ", first.lower()).strip()[:60]
    return hashlib.sha1(norm.encode()).hexdigest()[:16] if norm else ""


def features_of(doc_type: str, pages: list[PageText], sender_issues: int = 0) -> Features:
    scanned = [p for p in pages if p.method == "ocr"]
    confidences = [p.confidence for p in scanned if p.confidence is not None]
    rows = sum(len(_ROW.findall(p.text)) for p in pages)
    return Features(
        doc_type=doc_type,
        pages=len(pages),
        scanned_share=round(len(scanned) / len(pages), 3) if pages else 0.0,
        ocr_confidence=round(min(confidences), 1) if confidences else None,
        line_items=rows,
        sender=sender_key(pages),
        sender_issues=sender_issues,
    )


def sender_issues(session: Session, sender: str) -> int:
    """Earlier runs of this sender's documents that ended needing review or failed."""
    if not sender:
        return 0
    rows = session.execute(
        select(AgentRun.route_features, AgentRun.outcome)
        .where(AgentRun.route_features.is_not(None))
        .order_by(AgentRun.id.desc())
        .limit(HISTORY_RUNS)
    ).all()
    return sum(
        1
        for features, outcome in rows
        if isinstance(features, dict)
        and features.get("sender") == sender
        and outcome in ("needs_review", "failed")
    )


def decide(f: Features) -> Decision:
    """The tier for these features: a point per sign of difficulty, then thresholds."""
    points: list[tuple[int, str]] = []
    if f.doc_type == "customs_declaration":
        points.append((1, "customs declaration"))
    if f.pages > 10:
        points.append((2, f"{f.pages} pages"))
    elif f.pages > 3:
        points.append((1, f"{f.pages} pages"))
    if f.scanned_share > 0.5:
        points.append((1, "scanned"))
    if f.ocr_confidence is not None and f.ocr_confidence < 70:
        points.append((2, f"OCR confidence {f.ocr_confidence:g}"))
    elif f.ocr_confidence is not None and f.ocr_confidence < 85:
        points.append((1, f"OCR confidence {f.ocr_confidence:g}"))
    if f.line_items > 40:
        points.append((2, f"{f.line_items} line items"))
    elif f.line_items > 15:
        points.append((1, f"{f.line_items} line items"))
    if f.sender_issues >= 3:
        points.append((2, f"sender had {f.sender_issues} documents needing review"))
    elif f.sender_issues >= 1:
        points.append((1, f"sender had {f.sender_issues} documents needing review"))
    score = sum(p for p, _ in points)
    tier: Tier = "local_small" if score <= 1 else "local_large" if score <= 3 else "hosted"
    return Decision(tier=tier, score=score, reasons=[r for _, r in points], features=f)


def route_group(session: Session, doc_type: str, pages: list[PageText]) -> Decision:
    features = features_of(doc_type, pages)
    features.sender_issues = sender_issues(session, features.sender)
    return decide(features)


def tier_model(settings: Settings, tier: Tier, default: ChatModel) -> ChatModel:
    """The model that serves ``tier`` when routing is on (else, or unconfigured: default)."""
    ops = settings.ops
    if not ops.routing or tier == "local_small":
        return default
    if tier == "local_large" and ops.large.configured:
        return shared_ref_model(ops.large, settings.model)
    if tier == "hosted":
        hosted = hosted_model(settings)
        if hosted is not None:
            return hosted
    return default
