"""``shipdoc eval run``: extract the golden files with the product and score them, resumably.

For each selected golden file the binary is rebuilt from its spec, ingested into an
evaluation database of its own and extracted by ``agent.pipeline.extract_file`` (the same
path as ``shipdoc extract``). The prediction (records in the envelope, with confidence)
and what it cost (requests, tokens, seconds, statuses) are cached per file under a key of
model name + extractor version (the hash of the prompts and of the agent, tools and record
code), so an interrupted run resumes where it stopped and a changed extractor runs again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from statistics import median
from typing import Any

from pydantic import BaseModel, Field

from agent.models import build_model
from agent.models.base import ChatModel, ModelError
from agent.pipeline import extract_file
from agent.prompting import prompt_version
from core.errors import ShipdocError
from core.migrate import ensure_current
from core.records import FileRecords
from core.settings import Settings, get_settings
from core.stats import percentile
from evals.corpus import GroundTruth, build_item, write_item
from evals.scoring.extraction import Counts, FieldResult, SplitScores, compare_records
from evals.scoring.report import ExtractionReport, build_report, score_file
from tools.tariff import tariff_lookup

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
_VERSIONED = ("prompts", "agent", "tools", "core/records.py", "core/values.py")
BANDS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01))


def extractor_version() -> str:
    """Hash of everything that decides a prediction besides the model."""
    digest = hashlib.sha256()
    for rel in _VERSIONED:
        base = ROOT / rel
        files = [base] if base.is_file() else sorted(base.rglob("*"))
        for path in files:
            if path.is_file() and path.suffix in (".py", ".txt"):
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class FileRun(BaseModel):
    """What one file's extraction cost, beside its prediction."""

    file: str
    statuses: list[str] = Field(default_factory=list)
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # USD as recorded on the runs: each response priced at the price of the model (tier)
    # that answered it (agent/models/router); None when no answering model had a price.
    cost: float | None = None
    seconds: float = 0.0
    error: str | None = None


class Band(BaseModel):
    low: float
    high: float
    fields: int
    correct: int
    accuracy: float
    coverage: float


class Spread(BaseModel):
    median: float
    p90: float


class RunReport(BaseModel):
    cache_key: str
    files: list[str]
    extraction: ExtractionReport
    scans: Counts
    text_layer: Counts
    calibration: list[Band]
    extracted_records: Counts
    status_counts: dict[str, int]
    per_document: dict[str, Spread]
    errors: dict[str, str]


def cache_key(model_name: str) -> str:
    return f"{model_name}-{extractor_version()}"


def materialise_file(truth: GroundTruth, files_dir: Path) -> Path:
    path = files_dir / truth.file
    if not path.exists():
        data, _ = build_item(truth.spec)
        write_item(files_dir, data, truth)
    return path


def _predict(
    truth: GroundTruth, files_dir: Path, settings: Settings, model: ChatModel
) -> tuple[FileRecords | None, FileRun]:
    path = materialise_file(truth, files_dir)
    try:
        ingested, outcome = extract_file(path, settings=settings, model=model, force=True)
    except ModelError as exc:
        return None, FileRun(file=truth.file, error=f"{type(exc).__name__}: {exc}")
    if outcome is None:
        return FileRecords(file=truth.file), FileRun(
            file=truth.file, statuses=["rejected"], error=ingested.error_message
        )
    if not outcome.records:  # not a document outcome (our configuration, say): try again later
        return None, FileRun(file=truth.file, error=f"{outcome.status}: {outcome.reason}")
    records = [rec.envelope() for rec in outcome.records]
    usage = outcome.usage
    run = FileRun(
        file=truth.file,
        statuses=[r.status for r in outcome.records],
        requests=usage.requests,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost=usage.cost,
        seconds=usage.latency_s,
    )
    return FileRecords(file=truth.file, documents=records), run


def _paths(cache_dir: Path, truth: GroundTruth) -> tuple[Path, Path]:
    return cache_dir / f"{truth.id}.json", cache_dir / f"{truth.id}.run.json"


def cached(cache_dir: Path, truth: GroundTruth) -> tuple[FileRecords | None, FileRun | None]:
    pred_path, run_path = _paths(cache_dir, truth)
    if not pred_path.exists() or not run_path.exists():
        return None, None
    return (
        FileRecords.model_validate_json(pred_path.read_bytes()),
        FileRun.model_validate_json(run_path.read_bytes()),
    )


def _store(cache_dir: Path, truth: GroundTruth, pred: FileRecords | None, run: FileRun) -> None:
    pred_path, run_path = _paths(cache_dir, truth)
    if pred is None:  # an infrastructure failure: not cached, the next run tries again
        return
    pred_path.write_text(pred.model_dump_json(indent=1) + "\n", "utf-8")
    run_path.write_text(run.model_dump_json(indent=1) + "\n", "utf-8")


# --- running --------------------------------------------------------------------------------


def tariff_unavailable(settings: Settings) -> str | None:
    """Why the agent's tariff lookup would fail in every document of a run, else None.

    The pipeline degrades without the knowledge base (``lookup_tariff`` answers with a tool
    failure, no suggestions), so a run without it completes and measures a lesser agent.
    """
    try:
        tariff_lookup("cotton t-shirts", top_k=1, settings=settings)
    except ShipdocError as exc:
        return str(exc)
    return None


_worker: dict[str, Any] = {}


def _eval_settings(base: Settings, work_dir: Path, tag: str) -> Settings:
    url = f"sqlite:///{work_dir / f'eval-{tag}.db'}"
    ensure_current(url)
    return base.model_copy(update={"database_url": url, "blob_dir": work_dir / "blobs"})


def _init_worker(work_dir: str) -> None:
    settings = _eval_settings(get_settings(), Path(work_dir), str(os.getpid()))
    _worker["settings"] = settings
    _worker["model"] = build_model(settings)


def _work(args: tuple[GroundTruth, str, str]) -> tuple[str, FileRecords | None, FileRun]:
    truth, files_dir, cache_dir = args
    pred, run = _predict(truth, Path(files_dir), _worker["settings"], _worker["model"])
    _store(Path(cache_dir), truth, pred, run)
    return truth.id, pred, run


def run_files(
    truths: list[GroundTruth],
    work_dir: Path,
    *,
    jobs: int = 1,
    settings: Settings | None = None,
    model: ChatModel | None = None,
    progress: Callable[[str], None] | None = None,
    cached_only: bool = False,
    model_name: str | None = None,
    key: str | None = None,
) -> tuple[str, dict[str, tuple[FileRecords | None, FileRun]]]:
    """Predictions for every file: from the cache, else extracted now (``jobs`` processes).

    ``cached_only``: nothing is extracted; only the files with a cached prediction are
    returned (scoring an interrupted run as far as it got). ``key``: the cache of another
    extractor version (a run started before the code changed).
    """
    settings = settings or get_settings()
    prompt_version()  # refuses to start without the prompt templates
    key = key or cache_key(model.name if model is not None else model_name or settings.model.name)
    cache_dir = work_dir / "predictions" / key
    cache_dir.mkdir(parents=True, exist_ok=True)
    done: dict[str, tuple[FileRecords | None, FileRun]] = {}
    todo = []
    for truth in truths:
        pred, run = cached(cache_dir, truth)
        if run is not None:
            done[truth.id] = (pred, run)
            if progress:
                progress(truth.id)
        else:
            todo.append(truth)
    if cached_only:
        return key, done
    for file_id, pred, run in _extract_all(todo, work_dir, jobs, settings, model, cache_dir):
        done[file_id] = (pred, run)
        if progress:
            progress(file_id)
    return key, done


def _extract_all(
    todo: list[GroundTruth],
    work_dir: Path,
    jobs: int,
    settings: Settings,
    model: ChatModel | None,
    cache_dir: Path,
) -> Iterable[tuple[str, FileRecords | None, FileRun]]:
    files_dir = work_dir / "files"
    if not todo:
        return
    if jobs <= 1 or model is not None:
        local = _eval_settings(settings, work_dir, "main")
        model = model or build_model(local)
        for truth in todo:
            pred, run = _predict(truth, files_dir, local, model)
            _store(cache_dir, truth, pred, run)
            yield truth.id, pred, run
        return
    args = [(t, str(files_dir), str(cache_dir)) for t in todo]
    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(str(work_dir),)) as pool:
        yield from pool.map(_work, args)


# --- scoring --------------------------------------------------------------------------------


def _spread(values: list[float]) -> Spread:
    if not values:
        return Spread(median=0.0, p90=0.0)
    return Spread(median=round(median(values), 2), p90=round(percentile(values, 0.9), 2))


def calibration(results: list[FieldResult]) -> list[Band]:
    """Accuracy of the predicted fields in each confidence band, and the band's share."""
    predicted = [r for r in results if r.outcome != "missing"]
    bands = []
    for low, high in BANDS:
        inside = [r for r in predicted if r.confidence is not None and low <= r.confidence < high]
        correct = sum(r.outcome in ("exact", "equivalent") for r in inside)
        bands.append(
            Band(
                low=low,
                high=min(high, 1.0),
                fields=len(inside),
                correct=correct,
                accuracy=round(correct / len(inside), 4) if inside else 0.0,
                coverage=round(len(inside) / len(predicted), 4) if predicted else 0.0,
            )
        )
    return bands


def score_run(
    key: str, truths: list[GroundTruth], done: dict[str, tuple[FileRecords | None, FileRun]]
) -> RunReport:
    scored: list[tuple[FileRecords, bool, list[FieldResult], SplitScores]] = []
    scans: list[FieldResult] = []
    text: list[FieldResult] = []
    extracted: list[FieldResult] = []
    statuses: dict[str, int] = {}
    runs: list[FileRun] = []
    for truth in truths:
        pred, run = done.get(truth.id, (None, None))
        results, split = score_file(truth, pred)
        scored.append((truth, pred is not None, results, split))
        (scans if truth.spec.scan is not None else text).extend(results)
        if run is None:
            continue
        runs.append(run)
        for status in run.statuses:
            statuses[status] = statuses.get(status, 0) + 1
        if pred is not None and run.statuses and all(s == "extracted" for s in run.statuses):
            for doc in truth.documents:
                extracted += _match_and_compare(doc, pred)
    ok = [r for r in runs if r.error is None]
    return RunReport(
        cache_key=key,
        files=[t.id for t in truths],
        extraction=build_report(scored),
        scans=Counts.of(scans),
        text_layer=Counts.of(text),
        calibration=calibration([r for _, _, rs, _ in scored for r in rs]),
        extracted_records=Counts.of(extracted),
        status_counts=statuses,
        per_document={
            "requests": _spread([float(r.requests) for r in ok]),
            "prompt_tokens": _spread([float(r.prompt_tokens) for r in ok]),
            "completion_tokens": _spread([float(r.completion_tokens) for r in ok]),
            "seconds": _spread([r.seconds for r in ok]),
        },
        errors={r.file: r.error for r in runs if r.error},
    )


def _match_and_compare(doc: Any, pred: FileRecords) -> list[FieldResult]:
    pages = set(doc.pages)
    match = next((p for p in pred.documents if set(p.pages) == pages), None)
    return compare_records(doc, match)


def summary_json(report: RunReport) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=1)
