"""Web app benchmark: dashboard and records-table server time with 100,000 generated
records in PostgreSQL, unfiltered and filtered (target: p99 < 200 ms).

Requests go through the whole app in process (routing, session check, queries, template
rendering), so the figures are server time without the network.

    .venv/bin/python bench/web.py                   # 100,000 records, 40 requests a case
    .venv/bin/python bench/web.py --records 20000 --requests 20

Needs the local PostgreSQL (SHIPDOC_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test); a scratch database is created and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.api import create_app  # noqa: E402
from core import migrate  # noqa: E402
from core.auth import create_key  # noqa: E402
from core.models import Role  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.stats import percentile  # noqa: E402

POSTGRES = os.environ.get("SHIPDOC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

# One statement per table: rows made by PostgreSQL itself (generate_series), spread over
# the last 30 days; 80 % extracted, 15 % needs review, 5 % failed; four document types.
GENERATE = [
    """
    INSERT INTO documents (id, sha256, filename, media_type, size_bytes, page_count, status,
                           page_errors, created_at, updated_at)
    SELECT i, md5(i::text) || md5((i + 1)::text), 'doc-' || i || '.pdf', 'application/pdf',
           50000, 1, 'extracted', '[]'::jsonb,
           now() - (i % 43200) * interval '1 minute', now()
    FROM generate_series(1, :n) AS i
    """,
    """
    INSERT INTO agent_runs (id, document_id, page_first, page_last, doc_type, model,
                            prompt_version, requests, prompt_tokens, completion_tokens,
                            latency_s, outcome, cost, started_at, finished_at)
    SELECT i, i, 1, 1, 'commercial_invoice', 'qwen2.5-72b', 'p1', 1 + (i % 3), 2500, 400,
           3.5, 'extracted', 0.0021, now() - (i % 43200) * interval '1 minute',
           now() - (i % 43200) * interval '1 minute' + interval '4 seconds'
    FROM generate_series(1, :n) AS i
    """,
    """
    INSERT INTO records (id, document_id, page_first, page_last, doc_type, schema_version,
                         data, status, issues, provenance, confidence, run_id, version,
                         created_at, updated_at)
    SELECT i, i, 1, 1,
           (ARRAY['commercial_invoice', 'bill_of_lading', 'packing_list',
                  'customs_declaration'])[1 + i % 4],
           '1.0',
           jsonb_build_object(
             'invoice_number', 'INV-' || lpad(i::text, 7, '0'),
             'bl_number', 'MEDU' || lpad(i::text, 7, '0'),
             'container', 'MSCU' || lpad((i * 7 % 10000000)::text, 7, '0'),
             'seller', jsonb_build_object('name', 'Hanse Export GmbH', 'country', 'DE',
                                          'address', 'Am Sandtorkai 1, 20457 Hamburg'),
             'buyer', jsonb_build_object('name', 'Rotterdam Trading BV', 'country', 'NL',
                                         'address', 'Wilhelminakade 10, 3072 AP Rotterdam'),
             'currency', 'EUR', 'total', (i % 9000) + 100.5,
             'line_items', jsonb_build_array(jsonb_build_object(
                'description', 'Steel bolts M10', 'hs_code', '731815', 'quantity', 1000,
                'amount', (i % 9000) + 100.5))),
           CASE WHEN i % 20 = 0 THEN 'failed' WHEN i % 20 < 4 THEN 'needs_review'
                ELSE 'extracted' END,
           '[]'::jsonb, '{}'::jsonb, '{}'::jsonb, i, 1,
           now() - (i % 43200) * interval '1 minute', now()
    FROM generate_series(1, :n) AS i
    """,
    """
    INSERT INTO jobs (key, kind, document_id, state, attempts, timings, created_at,
                      updated_at, queued_at, started_at, finished_at)
    SELECT 'document:' || i, 'document', i, 'done', 1, '{}'::jsonb,
           now() - (i % 43200) * interval '1 minute', now(),
           now() - (i % 43200) * interval '1 minute',
           now() - (i % 43200) * interval '1 minute',
           now() - (i % 43200) * interval '1 minute' + interval '5 seconds'
    FROM generate_series(1, :n) AS i
    """,
    # a review on one record in ten of those that needed one
    """
    INSERT INTO record_reviews (record_id, action, original, corrected, reviewer, created_at)
    SELECT i, 'approve', '{}'::jsonb, '{}'::jsonb, 'bench', now()
    FROM generate_series(1, :n) AS i WHERE i % 20 = 1
    """,
]

CASES = {
    "dashboard figures (/dashboard.json)": "/dashboard.json",
    "dashboard + table, unfiltered": "/",
    "table: status filter": "/?status=needs_review",
    "table: type + status + dates": "/?doc_type=bill_of_lading&status=extracted"
    "&from={week}&to={today}",
    "table: reference search": "/?q=INV-0012345",
    "table: sorted by type, page 200": "/?sort=type&order=asc&page=200",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--database", help="measure an existing generated database instead")
    args = parser.parse_args()
    if args.database:
        migrate.upgrade(args.database)
        measure(args.database, args.requests)
        return
    name = f"shipdoc_bench_web_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        POSTGRES.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES.rsplit("/", 1)[0] + "/" + name
    try:
        run(url, args.records, args.requests)
    finally:
        from core.db import get_engine

        get_engine(url).dispose()
        if args.keep:
            print(f"kept {url}")
        else:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def run(url: str, n: int, requests: int) -> None:
    migrate.upgrade(url)
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    started = time.monotonic()
    with engine.begin() as conn:
        for statement in GENERATE:
            conn.execute(sa.text(statement), {"n": n})
        for table in ("documents", "agent_runs", "records"):
            conn.execute(sa.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    with engine.connect() as conn:
        # a settled table, as autovacuum leaves it (visibility map set for index-only scans)
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
    print(f"generated {n:,} records in {time.monotonic() - started:.1f} s")
    measure(url, requests)


def measure(url: str, requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "script.json"
        script.write_text(json.dumps([]))
        settings = Settings(
            environment="test",
            var_dir=Path(tmp),
            database_url=url,
            model={"backend": "scripted", "script_path": script},
        )
        token = create_key(url, Role.VIEWER, "bench").token
        today = time.strftime("%Y-%m-%d", time.gmtime())
        week = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 7 * 86400))
        with TestClient(create_app(settings)) as client:
            signin = client.get("/signin")
            assert signin.status_code == 200
            csrf = client.cookies["shipdoc_signin_csrf"]
            response = client.post(
                "/signin", data={"api_key": token, "csrf": csrf}, follow_redirects=False
            )
            assert response.status_code == 303, response.text
            print(f"{'case':40} {'p50 ms':>8} {'p99 ms':>8} {'rows':>8}")
            for label, path in CASES.items():
                path = path.format(today=today, week=week)
                times = []
                body = ""
                for i in range(requests + 3):
                    t0 = time.perf_counter()
                    response = client.get(path)
                    elapsed = (time.perf_counter() - t0) * 1000
                    assert response.status_code == 200, (path, response.status_code)
                    body = response.text
                    if i >= 3:  # warm-up
                        times.append(elapsed)
                rows = body.count('<tr>\n        <td><a href="/records/')
                print(
                    f"{label:40} {statistics.median(times):8.1f} {percentile(times, 0.99):8.1f}"
                    f" {rows:8}"
                )


if __name__ == "__main__":
    main()
