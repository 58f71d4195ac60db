"""The cost report: what the self-hosted stack costs per document beside what the same
measured tokens would cost at hosted prices, and the volume where the two break even.

Self-hosted cost is the configured monthly price of the GPUs and the node
(``SHIPDOC_OPS__GPU_MONTHLY`` x ``GPUS`` + ``NODE_MONTHLY``) amortised over the
documents measured in the period (the period's share of a 30-day month). The hosted
equivalent prices every prompt and completion token the runs used at
``SHIPDOC_OPS__HOSTED_PRICE_*_PER_M``. Spend that was recorded per request (a priced
fallback, priced models in evals and shadow runs) is reported as it was recorded.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select

from core.db import session_scope
from core.models import AgentRun, EvalResult, ShadowRun, utcnow
from core.settings import Settings

MONTH_DAYS = 30.0


class Line(BaseModel):
    documents: int = 0
    runs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    recorded_cost: float = 0.0
    hosted_equivalent: float = 0.0


class CostReport(BaseModel):
    since: datetime
    until: datetime
    days: float
    documents: int
    prompt_tokens: int
    completion_tokens: int
    self_hosted_monthly: float
    self_hosted_period: float
    self_hosted_per_document: float | None
    hosted_equivalent_period: float
    hosted_per_document: float | None
    recorded_spend: float
    fallback_requests: int
    fallback_spend: float
    failed_primary_spend: float
    eval_spend: float
    shadow_spend: float
    monthly_volume: float
    break_even_documents_per_month: float | None
    cheaper: str
    by_type: dict[str, Line]
    by_model: dict[str, Line]
    per_document: dict[int, Line]


def _hosted(settings: Settings, prompt: int, completion: int) -> float:
    ops = settings.ops
    return (
        prompt * ops.hosted_price_prompt_per_m + completion * ops.hosted_price_completion_per_m
    ) / 1_000_000


def _add(line: Line, run: AgentRun, settings: Settings) -> None:
    line.runs += 1
    line.prompt_tokens += run.prompt_tokens
    line.completion_tokens += run.completion_tokens
    line.recorded_cost += run.cost or 0.0
    line.hosted_equivalent += _hosted(settings, run.prompt_tokens, run.completion_tokens)


def _rounded(lines: dict[str, Line]) -> dict[str, Line]:
    for line in lines.values():
        line.recorded_cost = round(line.recorded_cost, 6)
        line.hosted_equivalent = round(line.hosted_equivalent, 6)
    return dict(sorted(lines.items()))


def cost_report(settings: Settings, since: datetime, until: datetime | None = None) -> CostReport:
    until = until or utcnow()
    days = max((until - since).total_seconds() / 86400, 1e-9)
    with session_scope(settings.database_url) as session:
        runs = session.scalars(
            select(AgentRun).where(
                AgentRun.finished_at >= since,
                AgentRun.finished_at <= until,
                AgentRun.outcome != "running",
            )
        ).all()
        evals = session.scalars(
            select(EvalResult.cost).where(
                EvalResult.created_at >= since, EvalResult.created_at <= until
            )
        ).all()
        shadows = session.scalars(
            select(ShadowRun.cost).where(
                ShadowRun.created_at >= since, ShadowRun.created_at <= until
            )
        ).all()
        by_type: dict[str, Line] = defaultdict(Line)
        by_model: dict[str, Line] = defaultdict(Line)
        per_document: dict[int, Line] = defaultdict(Line)
        docs_of: dict[tuple[str, str], set[int]] = defaultdict(set)
        for run in runs:
            kind = run.doc_type or "unknown"
            _add(by_type[kind], run, settings)
            _add(by_model[run.model], run, settings)
            _add(per_document[run.document_id], run, settings)
            docs_of[("type", kind)].add(run.document_id)
            docs_of[("model", run.model)].add(run.document_id)
        for kind, line in by_type.items():
            line.documents = len(docs_of[("type", kind)])
        for model, line in by_model.items():
            line.documents = len(docs_of[("model", model)])
        for line in per_document.values():
            line.documents = 1
        prompt = sum(r.prompt_tokens for r in runs)
        completion = sum(r.completion_tokens for r in runs)
        fallback_requests = sum(r.fallback_requests for r in runs)
        fallback_spend = sum(r.fallback_cost or 0.0 for r in runs)
        failed_spend = sum(r.failed_primary_cost or 0.0 for r in runs)
        recorded = sum(r.cost or 0.0 for r in runs)
    documents = len(per_document)
    ops = settings.ops
    monthly = ops.gpu_monthly * ops.gpus + ops.node_monthly
    period_cost = monthly * days / MONTH_DAYS
    hosted_period = _hosted(settings, prompt, completion)
    hosted_per_doc = hosted_period / documents if documents else None
    volume = documents / days * MONTH_DAYS
    break_even = monthly / hosted_per_doc if hosted_per_doc else None
    self_per_doc = period_cost / documents if documents else None
    if self_per_doc is None or hosted_per_doc is None:
        cheaper = "unknown"
    else:
        cheaper = "self-hosted" if self_per_doc < hosted_per_doc else "hosted"
    return CostReport(
        since=since,
        until=until,
        days=round(days, 3),
        documents=documents,
        prompt_tokens=prompt,
        completion_tokens=completion,
        self_hosted_monthly=round(monthly, 2),
        self_hosted_period=round(period_cost, 6),
        self_hosted_per_document=round(self_per_doc, 6) if self_per_doc is not None else None,
        hosted_equivalent_period=round(hosted_period, 6),
        hosted_per_document=round(hosted_per_doc, 6) if hosted_per_doc is not None else None,
        recorded_spend=round(recorded, 6),
        fallback_requests=fallback_requests,
        fallback_spend=round(fallback_spend, 6),
        failed_primary_spend=round(failed_spend, 6),
        eval_spend=round(sum(c or 0.0 for c in evals), 6),
        shadow_spend=round(sum(c or 0.0 for c in shadows), 6),
        monthly_volume=round(volume, 1),
        break_even_documents_per_month=round(break_even, 1) if break_even else None,
        cheaper=cheaper,
        by_type=_rounded(by_type),
        by_model=_rounded(by_model),
        per_document={k: per_document[k] for k in sorted(per_document)},
    )
