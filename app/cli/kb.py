"""``shipdoc kb``: build, check and search the knowledge base."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from app.progress import ProgressDisplay
from core.settings import get_settings
from kb import guard, index, snapshot
from kb.errors import BadQuery
from kb.ingest import IngestReport, ingest, snapshot_dir, write_snapshot
from kb.search import get_kb

app = typer.Typer(
    help="Knowledge base: tariff codes (HS2022, EU CN 2026), country rules, procedures.",
    no_args_is_help=True,
)

SOURCE_HELP = "hs2022, cn2026 or docs (default: all three)"


def _print_report(report: IngestReport) -> None:
    typer.echo(
        f"{report.collection}: {report.total} chunks, {report.embedded} embedded, "
        f"{report.removed} removed, {report.unchanged} unchanged in {report.seconds:.1f}s"
        + (f" ({report.chunks_per_s:.1f} chunks/s)" if report.embedded else "")
        + (f"; {report.from_snapshot} vectors from the snapshot" if report.from_snapshot else "")
    )
    if report.snapshot in ("refused", "partial"):
        typer.echo(f"  snapshot {report.snapshot}: {report.snapshot_reason}", err=True)


@app.command("ingest")
def ingest_cmd(
    source: str | None = typer.Option(None, "--source", help=SOURCE_HELP),
    path: Path | None = typer.Argument(
        None, help="for --source docs: a markdown file or folder (default: kb/sources)"
    ),
    recreate: bool = typer.Option(False, "--recreate", help="drop and rebuild the collection"),
    no_snapshot: bool = typer.Option(
        False, "--no-snapshot", help="embed everything; ignore the prebuilt tariff vectors"
    ),
) -> None:
    """Build or update collections. Incremental: only changed chunks are embedded.

    The tariff corpora take their vectors from the prebuilt snapshot (kb/snapshot/) when
    the guard accepts it (same embedder id and dimension, schema, re-embedded probes)."""
    if source is not None and source not in index.CORPORA:
        raise BadQuery(f"unknown source {source!r}; expected {SOURCE_HELP}")
    if path is not None and source != "docs":
        raise BadQuery("a PATH is only accepted with --source docs")
    settings = get_settings()
    with ProgressDisplay():  # a bar per collection (plain lines when not on a terminal)
        for corpus in [source] if source else list(index.CORPORA):
            _print_report(
                ingest(
                    settings,
                    corpus,
                    path=path,
                    recreate=recreate,
                    use_snapshot=False if no_snapshot else None,
                )
            )


@app.command("snapshot")
def snapshot_cmd(
    source: str | None = typer.Option(None, "--source", help=SOURCE_HELP),
    out: Path | None = typer.Option(None, "--out", help="folder (default: kb/snapshot)"),
) -> None:
    """Write the collections' vectors as the prebuilt snapshot (ingests first)."""
    if source is not None and source not in index.CORPORA:
        raise BadQuery(f"unknown source {source!r}; expected {SOURCE_HELP}")
    settings = get_settings()
    with ProgressDisplay():
        for corpus in [source] if source else list(index.CORPORA):
            path, report = write_snapshot(settings, corpus, folder=out)
            _print_report(report)
            typer.echo(f"{path}: {report.total} vectors, {path.stat().st_size / 1e6:.1f} MB")


@app.command()
def search(
    query: str = typer.Argument(..., help="goods description or question"),
    top: int = typer.Option(10, "--top", help="number of results (1-200)"),
    level: int | None = typer.Option(None, "--level", help="HS level: 2, 4 or 6 (CN: 8)"),
    source: str = typer.Option("hs2022", "--source", help="hs2022, cn2026 or docs"),
    language: str | None = typer.Option(None, "--language", help="payload language, e.g. de"),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid, dense or sparse"),
    as_json: bool = typer.Option(False, "--json", help="JSON lines: code, title, score, ..."),
) -> None:
    """Search one collection (hybrid dense + sparse with RRF fusion by default)."""
    modes: dict[str, index.Mode] = {"hybrid": "hybrid", "dense": "dense", "sparse": "sparse"}
    if mode not in modes:
        raise BadQuery(f"unknown mode {mode!r}; expected hybrid, dense or sparse")
    kb = get_kb(get_settings())
    if source == "docs":
        for doc in kb.search_docs(query, top=top, mode=modes[mode]):
            if as_json:
                typer.echo(doc.model_dump_json())
            else:
                typer.echo(f"{doc.score:7.4f}  {doc.file} > {doc.heading}")
        return
    hits = kb.search(
        query, corpus=source, top=top, level=level, language=language, mode=modes[mode]
    )
    for hit in hits:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "code": hit.code,
                        "title": hit.title,
                        "score": hit.score,
                        "source": hit.source,
                        "level": hit.level,
                        "path": hit.path,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            typer.echo(f"{hit.score:7.4f}  {hit.code:<8} L{hit.level}  {hit.title}")


@app.command()
def lookup(
    query: str | None = typer.Argument(None, help="goods description (or use --batch)"),
    batch: Path | None = typer.Option(
        None, "--batch", help='JSONL file of {"id", "query"} lines; one model load for all'
    ),
    top: int = typer.Option(10, "--top", help="candidates per query (1-50)"),
    as_json: bool = typer.Option(False, "--json", help="JSON lines (always with --batch)"),
) -> None:
    """HS6 candidates for goods descriptions: exactly the agent's lookup_tariff ranking.

    With --batch, prints one line per input line:
    {"id": ..., "candidates": [{"code", "title", "score", "level"}, ...], "verdict": ...}
    (verdict: confident, or unsure when the best codes are close, as the agent is told)."""
    from tools.tariff import tariff_lookup

    if (query is None) == (batch is None):
        raise BadQuery("give either a QUERY or --batch FILE.jsonl")
    if not 1 <= top <= 50:
        raise BadQuery(f"--top must be between 1 and 50, not {top}")
    settings = get_settings()
    items = _batch_items(batch) if batch is not None else [("", query or "")]
    for item_id, text in items:
        result = tariff_lookup(text, top_k=top, settings=settings)
        found = result.candidates
        candidates = [
            {"code": c.code, "title": c.title, "score": c.score, "level": c.level} for c in found
        ]
        if batch is not None:
            line = {"id": item_id, "candidates": candidates, "verdict": result.verdict}
            typer.echo(json.dumps(line, ensure_ascii=False))
        elif as_json:
            for c in candidates:
                typer.echo(json.dumps(c, ensure_ascii=False))
        else:
            typer.echo(f"{result.verdict}:")
            for hit in found:
                typer.echo(f"{hit.score:7.4f}  {hit.code}  {hit.path_text}")


def _batch_items(path: Path) -> list[tuple[str, str]]:
    """Every line's id and query, validated before the first lookup."""
    if not path.is_file():
        raise BadQuery(f"--batch {path} is not a file")
    items: list[tuple[str, str]] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadQuery(f"{path.name} line {n}: not JSON ({exc.msg})") from exc
            if not isinstance(row, dict) or not isinstance(row.get("query"), str):
                raise BadQuery(f'{path.name} line {n}: expected {{"id": ..., "query": "..."}}')
            if not row["query"].strip():
                raise BadQuery(f"{path.name} line {n}: the query is empty")
            items.append((str(row.get("id", n)), row["query"]))
    return items


@app.command()
def check() -> None:
    """Verify every collection was built by the configured embedder (exit 1 if not)."""
    settings = get_settings()
    statuses = guard.check_embedder(settings)
    for status in statuses:
        if status.status == "ok":
            typer.echo(
                f"{status.collection}: ok, {status.points} points, "
                f"{status.embedder_model} ({status.embedder_dim}-d), "
                f"schema {status.schema_version}"
            )
        else:
            typer.echo(f"{status.collection}: missing; run `shipdoc kb ingest`")
    if any(s.status != "ok" for s in statuses):
        raise typer.Exit(1)


@app.command()
def stats() -> None:
    """Points per collection, level and language, and where the index lives."""
    settings = get_settings()
    client = index.open_client(settings)
    where = settings.kb.qdrant_url or str(index.local_path(settings))
    typer.echo(f"qdrant: {where}")
    for corpus in index.CORPORA:
        manifest = snapshot.read_manifest(snapshot_dir(settings), corpus)
        if manifest:
            typer.echo(
                f"snapshot {corpus}: {manifest['count']} vectors, {manifest['embedder_model']} "
                f"({manifest['embedder_dim']}-d), schema {manifest['schema_version']}, "
                f"corpus sha256 {manifest['corpus_sha256'][:12]}"
            )
    for corpus in index.CORPORA:
        name = index.collection_name(settings.kb, corpus)
        if not index.exists(client, name):
            typer.echo(f"{name}: missing")
            continue
        record = index.recorded(client, name)
        total = index.call(client.count, collection_name=name, exact=True).count
        typer.echo(
            f"{name}: {total} points, embedder {record.model_id} ({record.dim}-d), "
            f"schema {record.schema_version}"
        )
        for level in (2, 4, 6, 8, 0):
            n = index.call(
                client.count,
                collection_name=name,
                count_filter=index.build_filter(level=level),
                exact=True,
            ).count
            if n:
                typer.echo(f"  level {level}: {n}")
