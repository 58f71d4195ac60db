"""``shipdoc eval``: the synthetic corpus, extraction scoring and tariff-lookup evaluation."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.errors import InputError
from core.settings import get_settings
from evals.corpus import CorpusSummary, GroundTruth, generate_corpus
from evals.degrade import generate_degraded
from evals.goldenset import GOLDEN_CORPUS, load_golden_truth
from evals.ocrcheck import FileOcr, check_files, golden_scans, load_items, summarise
from evals.retrieval import (
    DEFAULT_GOLDEN,
    LEVELS,
    SPLITS,
    RetrievalReport,
    evaluate_retrieval,
    get_lookup,
    load_golden,
    lookup_names,
)
from evals.run import RunReport, run_files, score_run, summary_json, tariff_unavailable
from evals.scoring.report import ExtractionReport, score_folders
from evals.split import PARTS, load_split, stratified_sample

app = typer.Typer(
    help="Evaluation: golden corpus, extraction scores, tariff-lookup recall.",
    no_args_is_help=True,
)


@app.command()
def corpus(
    out: Path = typer.Option(..., "--out", help="folder to write documents and ground truth to"),
    n: int = typer.Option(40, "--n", min=1, help="number of files"),
    seed: int = typer.Option(1, "--seed", help="same seed, same files"),
    degrade: bool = typer.Option(
        False,
        "--degrade",
        help="every file a badly photographed scan (faded, perspective, crumpled, low "
        "resolution, shaken, uneven light, phone), with a dev/test split.json",
    ),
) -> None:
    """Write N synthetic shipment documents (PDF and scans) with ground-truth JSON."""
    if degrade:
        generate_degraded(out, n, seed)
        summary = CorpusSummary.model_validate_json((out / "_summary.json").read_bytes())
    else:
        summary = generate_corpus(out, n, seed)
    (out / "_summary.json").write_text(summary.model_dump_json(indent=1) + "\n", "utf-8")
    typer.echo(
        f"{summary.files} files, {summary.documents} documents, {summary.pages} pages, "
        f"{summary.scanned_files} scanned, {summary.multi_document_files} multi-document, "
        f"{summary.line_items} line items -> {out}"
    )
    for name in ("by_doc_type", "by_layout", "by_lang", "by_media_type"):
        counts = getattr(summary, name)
        typer.echo(f"  {name[3:]}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _print_extraction(report: ExtractionReport, console: Console, fields: bool) -> None:
    table = Table(title=f"Extraction: {report.files} files, {report.documents} documents")
    for col in (
        "scope",
        "exact",
        "equiv",
        "wrong",
        "missing",
        "extra",
        "prec %",
        "rec %",
        "F1 %",
        "acc %",
        "macro acc %",
    ):
        table.add_column(col, justify="left" if col == "scope" else "right")
    rows = [*report.by_doc_type.items(), ("overall", report.overall)]
    for scope, group in rows:
        c = group.micro.counts
        table.add_row(
            scope,
            str(c.exact),
            str(c.equivalent),
            str(c.wrong),
            str(c.missing),
            str(c.extra),
            _pct(group.micro.precision),
            _pct(group.micro.recall),
            _pct(group.micro.f1),
            _pct(group.micro.accuracy),
            _pct(group.macro_accuracy),
        )
    console.print(table)
    split = report.splitting
    console.print(
        f"macro accuracy over doc types {_pct(report.macro_accuracy_over_doc_types)} %; "
        f"splitting: page groups {_pct(split.page_group_accuracy)} %, "
        f"doc type {_pct(split.doc_type_accuracy)} % "
        f"({split.counts.files_without_prediction} files without prediction)"
    )
    if fields:
        for doc_type, by_field in report.by_field.items():
            ft = Table(title=doc_type)
            for col in ("field", "exact", "equiv", "wrong", "missing", "extra", "acc %"):
                ft.add_column(col, justify="left" if col == "field" else "right")
            for key, s in by_field.items():
                c = s.counts
                ft.add_row(
                    key,
                    str(c.exact),
                    str(c.equivalent),
                    str(c.wrong),
                    str(c.missing),
                    str(c.extra),
                    _pct(s.accuracy),
                )
            console.print(ft)


@app.command()
def extract(
    golden: Path = typer.Option(..., "--golden", help="folder of ground-truth JSON"),
    predictions: Path = typer.Option(..., "--predictions", help="folder of predicted JSON"),
    report: Path = typer.Option(
        Path("eval-extract.json"), "--report", help="where to write the JSON report"
    ),
    fields: bool = typer.Option(False, "--fields", help="also print the per-field tables"),
) -> None:
    """Score predictions (one JSON per file, named like its ground truth) field by field."""
    result = score_folders(golden, predictions)
    report.write_text(result.model_dump_json(indent=1) + "\n", "utf-8")
    _print_extraction(result, Console(width=140), fields)
    typer.echo(f"report -> {report}")


@app.command()
def retrieval(
    golden: Path = typer.Option(DEFAULT_GOLDEN, "--golden", help="JSONL of text -> hs6 cases"),
    lookup: list[str] = typer.Option(
        ["keyword"], "--lookup", help="registered lookup name; repeat to compare"
    ),
    split: list[str] = typer.Option(
        list(SPLITS), "--split", help="dev (tune here), test (report), or all; repeatable"
    ),
    detail: bool = typer.Option(
        True, "--detail/--no-detail", help="also R@1/R@10 per language, style and writer"
    ),
    report: Path | None = typer.Option(None, "--report", help="write the JSON report here"),
) -> None:
    """Recall@1/5/10 and MRR of tariff lookups at 6-, 4- and 2-digit level, dev and test.

    The split is by HS chapter (evals/retrieval.py); tune on dev, report test."""
    for name in split:
        if name not in (*SPLITS, "all"):
            raise InputError(f"unknown split {name!r}; expected dev, test or all")
    cases = load_golden(golden)
    console = Console(width=160)
    reports = []
    for name in lookup:
        run = get_lookup(name)
        for part in split:
            chosen = [c for c in cases if part == "all" or c.split == part]
            result = evaluate_retrieval(chosen, run, name=f"{name} [{part}]")
            reports.append(result)
    table = Table(title=f"Retrieval: {len(cases)} cases ({', '.join(lookup_names())} known)")
    for col in ("lookup", "cases", "level", "R@1", "R@5", "R@10", "MRR", "p50 ms", "p99 ms"):
        table.add_column(col, justify="left" if col == "lookup" else "right")
    for result in reports:
        for level in LEVELS[:2]:
            s = result.levels[level]
            table.add_row(
                result.lookup,
                str(result.cases),
                f"HS{level}",
                *(f"{s.recall[k]:.3f}" for k in result.ks),
                f"{s.mrr:.3f}",
                f"{result.ms_p50:.1f}",
                f"{result.ms_p99:.1f}",
            )
    console.print(table)
    if detail:
        for result in reports:
            _print_groups(result, console)
    if report is not None:
        report.write_text(
            "[" + ",\n".join(r.model_dump_json(indent=1) for r in reports) + "]\n", "utf-8"
        )
        typer.echo(f"report -> {report}")


def _print_run(report: RunReport, console: Console, fields: bool) -> None:
    _print_extraction(report.extraction, console, fields)
    for name, counts in (("scans", report.scans), ("text layer", report.text_layer)):
        total = counts.correct + counts.wrong + counts.missing + counts.extra
        console.print(f"{name}: accuracy {_pct(counts.accuracy)} % ({counts.correct} of {total})")
    calib = Table(title="Calibration: predicted fields by confidence")
    for col in ("confidence", "fields", "correct", "acc %", "share %"):
        calib.add_column(col, justify="right")
    for band in report.calibration:
        calib.add_row(
            f"{band.low:.1f}-{band.high:.2f}",
            str(band.fields),
            str(band.correct),
            _pct(band.accuracy),
            _pct(band.coverage),
        )
    console.print(calib)
    ex = report.extracted_records
    console.print(
        f"records marked extracted: {ex.correct} of "
        f"{ex.correct + ex.wrong + ex.missing + ex.extra} fields right "
        f"({_pct(ex.accuracy)} %); statuses: "
        + ", ".join(f"{k} {v}" for k, v in sorted(report.status_counts.items()))
    )
    cost = Table(title="Per document")
    for col in ("", "median", "p90"):
        cost.add_column(col, justify="right")
    for name, spread in report.per_document.items():
        cost.add_row(name, f"{spread.median:g}", f"{spread.p90:g}")
    console.print(cost)
    for file, error in report.errors.items():
        console.print(f"[red]{file}: {error}[/red]")


@app.command()
def run(
    golden: Path = typer.Option(
        GOLDEN_CORPUS.parent, "--golden", help="golden folder (its corpus/ and split.json)"
    ),
    split: str = typer.Option(
        "all", "--split", help="dev (tune on it), test (only score it) or all"
    ),
    sample: int = typer.Option(
        0, "--sample", min=0, help="N files spread over type x layout (scans first); 0: all"
    ),
    seed: int = typer.Option(0, "--seed", help="sample seed"),
    jobs: int = typer.Option(1, "--jobs", min=1, help="extraction processes (each loads a model)"),
    work: Path = typer.Option(Path("var/eval"), "--work", help="files, databases, predictions"),
    report: Path | None = typer.Option(None, "--report", help="write the JSON report here"),
    fields: bool = typer.Option(False, "--fields", help="also print the per-field tables"),
    cached_only: bool = typer.Option(
        False, "--cached-only", help="extract nothing; score the files already predicted"
    ),
    files: str = typer.Option("", "--files", help="only these file ids (comma-separated)"),
    key: str = typer.Option("", "--key", help="score the cache of this model-version key"),
) -> None:
    """Extract golden files with the configured model and score them (resumable: predictions
    are cached per file, model and extractor version under --work)."""
    truths = _select(golden, split)
    if sample:
        truths = stratified_sample(truths, sample, seed)
    if files:
        wanted = [f.strip() for f in files.split(",") if f.strip()]
        truths = sorted((t for t in truths if t.id in wanted), key=lambda t: wanted.index(t.id))
    console = Console(width=140)
    console.print(f"{len(truths)} files ({split}): " + " ".join(t.id for t in truths))
    if not cached_only and (why := tariff_unavailable(get_settings())):
        console.print(f"[yellow]warning: the agent's tariff lookup will fail ({why})[/yellow]")
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task("extracting", total=len(truths))

        def advance(name: str) -> None:
            bar.update(task, advance=1, description=name)

        used, done = run_files(
            truths, work, jobs=jobs, progress=advance, cached_only=cached_only, key=key or None
        )
    if cached_only:
        truths = [t for t in truths if t.id in done]
        console.print(f"{len(truths)} files predicted so far")
    result = score_run(used, truths, done)
    _print_run(result, console, fields)
    if report is not None:
        report.write_text(summary_json(result) + "\n", "utf-8")
        typer.echo(f"report -> {report}")


@app.command()
def groups(
    golden: Path = typer.Option(
        GOLDEN_CORPUS.parent, "--golden", help="golden folder (its corpus/ and split.json)"
    ),
    split: str = typer.Option("all", "--split", help="dev, test or all"),
    work: Path = typer.Option(Path("var/eval"), "--work", help="parsed pages are cached here"),
) -> None:
    """Score page splitting and keyword document types on the golden files, without a model
    (the rules of agent/classify.py alone)."""
    from evals.grouping import score_grouping

    truths = _select(golden, split)
    result = score_grouping(truths, work)
    typer.echo(
        f"{result.files} files ({split}), {result.documents} documents: page groups "
        f"{result.page_groups_exact} of {result.documents} ({_pct(result.page_group_accuracy)} %), "
        f"types {result.doc_type_correct} of {result.documents} "
        f"({_pct(result.doc_type_accuracy)} %)"
    )
    for wrong in result.wrong:
        typer.echo(f"  {wrong.file}: true {wrong.truth}  predicted {wrong.predicted}")


@app.command()
def calibrate(
    golden: Path = typer.Option(
        GOLDEN_CORPUS.parent, "--golden", help="golden folder (its corpus/ and split.json)"
    ),
    work: Path = typer.Option(Path("var/eval"), "--work", help="where 'eval run' cached"),
    key: list[str] = typer.Option(
        [], "--key", help="prediction cache key(s) to read (default: all, newest first)"
    ),
    write: bool = typer.Option(False, "--write", help="write evals/golden/calibration-dev.json"),
) -> None:
    """Fit the confidence of each evidence class on the DEV part's cached predictions and
    show what it gives (held out file by file); --write stores the table."""
    from evals.calibrate import (
        CALIBRATION_FILE,
        analyse,
        bands,
        collect,
        cross_validate,
        extracted_share,
        fit,
        write_table,
    )

    root = work / "predictions"
    dirs = [root / k for k in key] or sorted(
        (d for d in root.glob("*") if d.is_dir()), key=lambda d: d.stat().st_mtime, reverse=True
    )
    fields, docs = collect(_select(golden, "dev"), dirs, work)
    files = sorted({r.file for r in fields})
    table = fit(fields)
    console = Console(width=140)
    recorded = sum(r.recorded for r in fields)
    console.print(
        f"dev: {len(files)} files, {len(docs)} documents, {len(fields)} predicted fields "
        f"({recorded} with recorded evidence, {len(fields) - recorded} recomputed) from "
        + ", ".join(d.name for d in dirs)
    )
    evidence = Table(title="Each piece of evidence alone (dev)")
    for col in ("evidence", "value", "fields", "right", "acc %"):
        evidence.add_column(col, justify="left" if col in ("evidence", "value") else "right")
    for name, values in analyse(fields).items():
        for value, (n, ok) in values.items():
            evidence.add_row(name, value, str(n), str(ok), _pct(ok / n if n else 0.0))
    console.print(evidence)
    classes = Table(title="Evidence classes (dev)")
    for col in ("class", "fields", "right", "acc %", "confidence"):
        classes.add_column(col, justify="left" if col == "class" else "right")
    for name, row in sorted(table.items(), key=lambda kv: -kv[1].confidence):
        classes.add_row(
            name, str(row.fields), str(row.right), _pct(row.accuracy), f"{row.confidence:.3f}"
        )
    console.print(classes)
    shown = [(r.shown, r.right) for r in fields if r.shown is not None]
    held_out = cross_validate(fields)
    for title, pairs in (("as predicted", shown), ("fitted, held out per file", held_out)):
        band_table = Table(title=f"Bands: {title}")
        for col in ("confidence", "fields", "right", "acc %", "share %"):
            band_table.add_column(col, justify="right")
        for b in bands(pairs):
            band_table.add_row(
                f"{b.low:.1f}-{b.high:.2f}",
                str(b.fields),
                str(b.right),
                _pct(b.accuracy),
                _pct(b.share),
            )
        console.print(band_table)
    for rule, every in (("required fields", False), ("every field", True)):
        n, right, total = extracted_share(fields, docs, every_field=every)
        console.print(
            f"extracted when {rule} >= threshold, held out per file: {n} of {len(docs)} "
            f"documents, {right} of {total} of their fields right "
            f"({_pct(right / total if total else 0.0)} %)"
        )
    if write:
        meta = {
            "files": len(files),
            "documents": len(docs),
            "fields": len(fields),
            "keys": [d.name for d in dirs],
        }
        write_table(table, meta)
        typer.echo(f"-> {CALIBRATION_FILE}")


def _select(golden: Path, split: str) -> list[GroundTruth]:
    corpus_dir = golden / "corpus" if (golden / "corpus").is_dir() else golden
    truths = load_golden_truth(corpus_dir)
    if split != "all":
        if split not in PARTS:
            raise typer.BadParameter("--split is dev, test or all")
        keep = set(load_split(corpus_dir.parent / "split.json")[split])
        truths = [t for t in truths if t.id in keep]
    return truths


@app.command()
def ocr(
    corpus: Path | None = typer.Option(
        None,
        "--corpus",
        help="a folder of scans with ground truth and split.json (`eval corpus --degrade`); "
        "default: the golden set's scans, rebuilt into --work",
    ),
    split: str = typer.Option("all", "--split", help="dev (tune on it), test or all"),
    preprocess: bool = typer.Option(
        True, "--preprocess/--no-preprocess", help="prepare page images before Tesseract"
    ),
    jobs: int = typer.Option(2, "--jobs", min=1, help="files OCR'd at a time (one process each)"),
    limit: int = typer.Option(0, "--limit", min=0, help="only the first N files; 0: all"),
    work: Path = typer.Option(Path("var/eval-ocr"), "--work", help="the rebuilt golden scans"),
    report: Path | None = typer.Option(None, "--report", help="write per-file JSON here"),
) -> None:
    """OCR scans with ground truth: word recall, whole values and the total, date and
    company name found in the text, seconds per page."""
    if corpus is None:
        items = golden_scans(work / "golden-scans")
    else:
        items = load_items(corpus, corpus / "split.json")
    if split != "all":
        if split not in PARTS:
            raise typer.BadParameter("--split is dev, test or all")
        items = [item for item in items if item[2] == split]
    if limit:
        items = items[:limit]
    console = Console(width=140)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task("OCR", total=len(items))
        results = check_files(
            items,
            preprocess=preprocess,
            jobs=jobs,
            progress=lambda name: bar.update(task, advance=1, description=name),
        )
    _print_ocr(results, console, f"preprocess {'on' if preprocess else 'off'}, split {split}")
    if report is not None:
        report.write_text(
            "[\n" + ",\n".join(r.model_dump_json() for r in results) + "\n]\n", "utf-8"
        )
        typer.echo(f"report -> {report}")


def _print_ocr(results: list[FileOcr], console: Console, title: str) -> None:
    profiles = {r.file: r.profile for r in results}
    groups: dict[str, list[FileOcr]] = {}
    for r in results:
        groups.setdefault(f"part {r.part or '-'}", []).append(r)
    if any(profiles.values()):
        for r in results:
            groups.setdefault(f"profile {r.profile}", []).append(r)
    groups["all"] = results
    table = Table(title=f"OCR against the ground truth ({title})")
    for col in ("scope", "files", "pages", "word recall %", "values %", "total", "date",
                "company", "s/page"):  # fmt: skip
        table.add_column(col, justify="left" if col == "scope" else "right")
    for scope, group in groups.items():
        s = summarise(group)
        keys = [f"{s.keys[k][0]}/{s.keys[k][1]}" for k in ("total", "date", "company")]
        table.add_row(
            scope, str(s.files), str(s.pages), _pct(s.word_recall), _pct(s.value_recall),
            *keys, f"{s.seconds_per_page:.2f}",
        )  # fmt: skip
    console.print(table)


def _print_groups(result: RetrievalReport, console: Console) -> None:
    table = Table(title=f"{result.lookup}: by language, style and writer")
    for col in ("group", "HS6 R@1", "HS6 R@10", "HS4 R@1", "HS4 R@10"):
        table.add_column(col, justify="left" if col == "group" else "right")
    for kind, groups in (
        ("lang", result.by_lang),
        ("style", result.by_style),
        ("writer", result.by_writer),
    ):
        for value, levels in groups.items():
            h6, h4 = levels[6].recall, levels[4].recall
            table.add_row(
                f"{kind}={value}", f"{h6[1]:.3f}", f"{h6[10]:.3f}", f"{h4[1]:.3f}", f"{h4[10]:.3f}"
            )
    console.print(table)


@app.command()
def nightly(
    work: Path = typer.Option(
        Path("var/eval-nightly"), "--work", help="files and databases of the eval runs"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the results as JSON"),
) -> None:
    """Run the golden sample against the production, fallback and reference models, store
    the results, and report drift (production more than SHIPDOC_OPS__DRIFT_POINTS below the
    reference or below its own last week). Exit code 3 when it drifted."""
    from agent.models.factory import models_by_role
    from core.settings import get_settings
    from evals.nightly import run_nightly

    settings = get_settings()
    report = run_nightly(settings, models_by_role(settings), work)
    if as_json:
        typer.echo(report.model_dump_json(indent=1))
    else:
        for row in report.results:
            typer.echo(
                f"{row.role:<10} {row.model:<32} accuracy {100 * row.accuracy:5.1f} %"
                f"  ({row.documents} documents, {row.seconds} s)"
                + (f"  error: {row.error}" if row.error else "")
            )
        for drift in report.drifts:
            typer.echo(
                f"DRIFT {drift.model}: {drift.reason} by {drift.points:g} points "
                f"({100 * drift.accuracy:.1f} % against {100 * drift.baseline:.1f} %)"
            )
    if report.drifts:
        raise typer.Exit(3)
