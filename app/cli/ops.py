"""``shipdoc shadow report`` and ``shipdoc cost report``: what production is doing."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from app.costs import CostReport, cost_report
from app.periods import parse_since
from core.errors import ConfigurationError
from core.settings import get_settings
from evals.shadow import ShadowReport, shadow_document, shadow_report

shadow_app = typer.Typer(help="Shadow runs of a candidate model.", no_args_is_help=True)
cost_app = typer.Typer(help="What extraction costs, self-hosted and hosted.", no_args_is_help=True)


@shadow_app.callback()
def _shadow() -> None:
    """Shadow runs of a candidate model."""


@cost_app.callback()
def _cost() -> None:
    """What extraction costs, self-hosted and hosted."""


_RATE_COLUMNS = ("scope", "fields", "exact", "equiv", "different", "missing", "extra", "match %")
_COST_COLUMNS = ("documents", "runs", "prompt tok", "completion tok", "recorded", "hosted eq.")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


@shadow_app.command("report")
def shadow_report_cmd(
    since: str = typer.Option("7d", "--since", help="7d, 24h, 2w or an ISO date"),
    until: str | None = typer.Option(None, "--until", help="end of the period (default: now)"),
    model: str | None = typer.Option(None, "--model", help="only this candidate model"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Match rates of the candidate against the primary per type, tier and field."""
    report = shadow_report(
        get_settings(),
        parse_since(since),
        parse_since(until) if until else None,
        model,
    )
    if as_json:
        typer.echo(report.model_dump_json(indent=1))
        return
    _print_shadow(report, Console(width=140))


def _print_shadow(report: ShadowReport, console: Console) -> None:
    console.print(
        f"{report.runs} shadow runs ({report.failed} failed) of "
        f"{', '.join(report.candidates) or 'no candidate'} "
        f"from {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M}; "
        f"mean latency candidate {report.candidate_latency_s:.2f} s, "
        f"primary {report.primary_latency_s:.2f} s; candidate cost {report.candidate_cost}"
    )
    for title, rates in (("by type", report.by_type), ("by tier", report.by_tier)):
        table = Table(title=f"match rate {title}")
        for col in _RATE_COLUMNS:
            table.add_column(col, justify="left" if col == "scope" else "right")
        for scope, r in rates.items():
            table.add_row(
                scope,
                *(str(v) for v in (r.fields, r.exact, r.equivalent, r.different)),
                str(r.missing),
                str(r.extra),
                _pct(r.match_rate),
            )
        console.print(table)
    for doc_type, fields in report.by_field.items():
        table = Table(title=f"{doc_type}: match rate per field")
        for col in ("field", "n", "different", "missing", "extra", "match %"):
            table.add_column(col, justify="left" if col == "field" else "right")
        for name, r in fields.items():
            table.add_row(
                name, str(r.fields), str(r.different), str(r.missing), str(r.extra),
                _pct(r.match_rate),
            )  # fmt: skip
        console.print(table)


@shadow_app.command("run")
def shadow_run_cmd(
    document_ids: list[int] = typer.Argument(..., help="finished documents to shadow now"),
) -> None:
    """Run the configured candidate (SHIPDOC_OPS__SHADOW__*) on finished documents now,
    whatever the sampled share; the primary records are not touched."""
    settings = get_settings()
    if not settings.ops.shadow.configured:
        raise ConfigurationError("no candidate: set SHIPDOC_OPS__SHADOW__NAME and __BASE_URL")
    for document_id in document_ids:
        for row in shadow_document(settings, document_id):
            matched = sum(f["outcome"] in ("exact", "equivalent") for f in row.fields)
            typer.echo(
                f"document {document_id} {row.doc_type}: {row.status}"
                f" {matched}/{len(row.fields)} fields match"
                f" ({row.candidate_model} {row.latency_s:.1f} s, primary"
                f" {row.primary_model} {row.primary_latency_s or 0:.1f} s)"
                + (f" error: {row.error}" if row.error else "")
            )


@cost_app.command("report")
def cost_report_cmd(
    since: str = typer.Option("30d", "--since", help="7d, 24h, 2w or an ISO date"),
    until: str | None = typer.Option(None, "--until", help="end of the period (default: now)"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Self-hosted cost per document beside the same tokens at hosted prices, spend on
    fallback, evals and shadow runs, and the break-even volume."""
    report = cost_report(get_settings(), parse_since(since), parse_since(until) if until else None)
    if as_json:
        typer.echo(report.model_dump_json(indent=1))
        return
    _print_cost(report, Console(width=140))


def _print_cost(r: CostReport, console: Console) -> None:
    console.print(
        f"{r.documents} documents in {r.days:g} days ({r.monthly_volume:g} a month at this rate); "
        f"{r.prompt_tokens} prompt + {r.completion_tokens} completion tokens"
    )
    console.print(
        f"self-hosted: {r.self_hosted_monthly:g} a month -> {r.self_hosted_period:g} for the "
        f"period, {r.self_hosted_per_document} per document"
    )
    console.print(
        f"hosted at the configured prices: {r.hosted_equivalent_period:g} for the period, "
        f"{r.hosted_per_document} per document; cheaper now: {r.cheaper}; break-even at "
        f"{r.break_even_documents_per_month} documents a month"
    )
    console.print(
        f"recorded spend {r.recorded_spend:g} (fallback {r.fallback_spend:g} over "
        f"{r.fallback_requests} requests, failed primary attempts {r.failed_primary_spend:g}); "
        f"evals {r.eval_spend:g}; shadow runs {r.shadow_spend:g}"
    )
    for title, lines in (("type", r.by_type), ("model", r.by_model)):
        table = Table(title=f"by {title}")
        for col in (title, *_COST_COLUMNS):
            table.add_column(col, justify="left" if col == title else "right")
        for name, line in lines.items():
            table.add_row(
                name, str(line.documents), str(line.runs), str(line.prompt_tokens),
                str(line.completion_tokens), f"{line.recorded_cost:g}",
                f"{line.hosted_equivalent:g}",
            )  # fmt: skip
        console.print(table)
