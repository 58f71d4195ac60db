"""``make demo``: the main job end to end on the embedded default, nothing else running.

1. write four demo documents (a bill of lading, an invoice, a packing list and a scanned
   customs declaration) under ``var/demo/``;
2. ingest and parse them (SQLite + blob store under ``var/``);
3. build or update the knowledge base (Qdrant local mode; the first run embeds ~17k
   tariff entries and takes a while, later runs take seconds);
4. fetch the local model once (verified by sha256) and extract each document with it,
   printing the records.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from sqlalchemy import select

from agent.models.fetch import fetch
from agent.pipeline import ExtractionOutcome, extract_document
from core.db import session_scope
from core.models import Page
from core.settings import Settings, get_settings
from evals.corpus import demo_documents
from kb.ingest import ensure_ingested
from tools.intake import IngestResult, ingest_path


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def ingest_demo(settings: Settings, folder: Path) -> list[IngestResult]:
    say(f"== 1-2. demo documents in {folder}: ingest and parse")
    results = []
    for path in demo_documents(folder):
        started = time.perf_counter()
        result = ingest_path(path, settings=settings)
        took = time.perf_counter() - started
        methods = _page_methods(settings, result.document_id)
        say(
            f"  #{result.document_id:<3} {result.status:<9} {path.name:<34} "
            f"{result.page_count or 0} page(s) [{methods}] {took:5.1f}s"
            + ("" if result.created else " (already stored)")
        )
        results.append(result)
    return results


def _page_methods(settings: Settings, document_id: int) -> str:
    with session_scope(settings.database_url) as session:
        pages = session.scalars(
            select(Page).where(Page.document_id == document_id).order_by(Page.number)
        )
        return ", ".join(
            p.method + (f" {p.ocr_confidence:.0f}%" if p.ocr_confidence is not None else "")
            for p in pages
        )


def build_kb(settings: Settings) -> None:
    say("== 3. knowledge base (Qdrant local mode)")
    last = [0.0]

    def progress(corpus: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] > 15:
            last[0] = now
            say(f"  {corpus}: embedded {done}/{total}")

    for report in ensure_ingested(settings, progress=progress):
        say(
            f"  {report.collection:<22} {report.total:>6} chunks: {report.embedded} embedded, "
            f"{report.removed} removed, {report.unchanged} unchanged ({report.seconds:.1f}s)"
        )


def extract_demo(settings: Settings, results: list[IngestResult]) -> list[ExtractionOutcome]:
    model = settings.model
    if model.backend == "local" and model.path is None:
        say(f"== 4. local model {model.name}: fetch once into {model.cache_dir}")
        say(f"  {fetch(model.name, model.cache_dir)}")
    say(f"== 4. extract with the {model.backend} model {model.name}")
    outcomes = []
    for result in results:
        if result.status == "rejected":
            continue
        started = time.perf_counter()
        outcome = extract_document(result.document_id, settings=settings)
        took = time.perf_counter() - started
        usage = outcome.usage
        say(
            f"\n-- #{outcome.document_id} {outcome.filename}: {outcome.status} "
            f"({took:.1f}s, {usage.model_dump_json()})"
        )
        if outcome.reason:
            say(f"   reason: {outcome.reason}")
        for record in outcome.records:
            say(json.dumps(record.model_dump(mode="json"), indent=2, ensure_ascii=False))
        outcomes.append(outcome)
    return outcomes


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    folder = settings.var_dir / "demo"
    results = ingest_demo(settings, folder)
    build_kb(settings)
    outcomes = extract_demo(settings, results)
    say("\n== summary")
    for outcome in outcomes:
        types = ", ".join(r.doc_type for r in outcome.records) or "-"
        say(f"  #{outcome.document_id:<3} {outcome.status:<12} {types:<40} {outcome.filename}")
    say(f"\nstate is in {settings.var_dir}/ ; inspect with .venv/bin/shipdoc documents list")


if __name__ == "__main__":
    main()
