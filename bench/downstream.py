"""Downstream benchmark: export memory and webhook delivery latency.

1. Export: N records (default 10,000 commercial invoices with two line items) in a scratch
   SQLite database, exported as CSV, JSONL and XLSX; prints bytes out, seconds, and the
   process's resident memory growth (sampled every chunk) and tracemalloc peak, for N/10
   and N records: flat memory means the two columns are about equal.
2. Webhooks: the embedded delivery loop (poll interval as configured) sends E events, one
   at a time at random moments, to a local receiver; prints the latency from the event's
   commit to its arrival (p50/p95/max) and the HTTP round trip the delivery log recorded;
   once as events committed in the loop's own process (which wake it), once as events
   committed by another process (the loop finds them at its next poll).

    .venv/bin/python bench/downstream.py
    .venv/bin/python bench/downstream.py --records 10000 --events 40 --poll 1.0
    .venv/bin/python bench/downstream.py --records 0      # webhooks only
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.export import ExportQuery, export_stream
from core import migrate
from core.db import session_scope
from core.events import EventType, emit_event
from core.settings import Settings
from core.stats import percentile
from tests.factories import add_invoices
from tests.webhook_receiver import receiver
from workers.webhooks.delivery import DeliveryLoop
from workers.webhooks.endpoints import add_endpoint, delete_endpoint, deliveries

INVOICE = {
    "invoice_number": "INV-7",
    "invoice_date": "2026-03-01",
    "seller": {"name": "Hanse Export GmbH", "address": "Am Kai 1, 20457 Hamburg", "country": "DE"},
    "buyer": {"name": "Rotterdam Logistics BV", "country": "NL"},
    "currency": "EUR",
    "incoterm": "FOB",
    "line_items": [
        {"description": "steel bolts M8", "hs_code": "731815", "quantity": 1000, "amount": 200.0},
        {"description": "nuts M8", "hs_code": "731816", "quantity": 1000, "amount": 75.5},
    ],
    "total": 275.5,
}


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


def seed(url: str, n: int, name: str) -> int:
    with session_scope(url) as session:
        return add_invoices(session, name, INVOICE, n)


def measure_export(url: str, query: ExportQuery, fmt: str) -> tuple[int, float, int, int]:
    base = rss_bytes()
    peak_rss = base
    tracemalloc.start()
    started = time.perf_counter()
    total = 0
    for chunk in export_stream(url, query, fmt):  # type: ignore[arg-type]
        total += len(chunk)
        peak_rss = max(peak_rss, rss_bytes())
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return total, seconds, peak_rss - base, traced


def bench_export(url: str, records: int) -> None:
    small = seed(url, records // 10, "small")
    seed(url, records - records // 10, "large")
    print(f"export of {records // 10} and {records} records (SQLite)")
    print("format  records  MB out  seconds  RSS growth MB  traced peak MB")
    for fmt in ("csv", "jsonl", "xlsx"):
        list(export_stream(url, ExportQuery(document_id=small), fmt))  # type: ignore[arg-type]
        for label, query in (
            (records // 10, ExportQuery(document_id=small)),
            (records, ExportQuery()),
        ):
            out, seconds, rss, traced = measure_export(url, query, fmt)
            print(
                f"{fmt:6}  {label:7}  {out / 1e6:6.2f}  {seconds:7.2f}  {rss / 1e6:13.2f}"
                f"  {traced / 1e6:14.2f}"
            )


def bench_webhooks(url: str, var: Path, events: int, poll: float, *, woken: bool) -> None:
    settings = Settings(
        environment="test",
        var_dir=var,
        database_url=url,
        webhooks={"allow_networks": ["127.0.0.1/32"], "poll_interval_s": poll},
    )
    rng = random.Random(7)
    latencies: list[float] = []
    with receiver() as hook:
        endpoint = add_endpoint(settings, hook.url)
        loop = DeliveryLoop(settings).start()
        if not woken:  # as for events committed by another process (Celery workers, CLI)
            loop._unsubscribe()
        try:
            for i in range(events):
                time.sleep(rng.uniform(0, poll))
                with session_scope(url) as session:
                    emit_event(session, EventType.DOCUMENT_FAILED, {"n": i}, document_id=i)
                committed = time.monotonic()
                deadline = committed + 30
                while len(hook.seen()) <= i and time.monotonic() < deadline:
                    time.sleep(0.002)
                latencies.append(hook.seen()[i].at - committed)
        finally:
            loop.stop()
        rtt = [
            a.latency_ms for d in deliveries(settings, endpoint.id, events) for a in d.attempt_log
        ]
    delete_endpoint(settings, endpoint.id)
    p95 = percentile(latencies, 0.95)
    print(
        f"webhooks: {events} events, poll interval {poll:g} s, "
        f"{'same process (woken)' if woken else 'other process (polled)'}: commit -> receiver "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms; HTTP round trip p50 {statistics.median(rtt):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--poll", type=float, nargs="+", default=[1.0, 0.2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        if args.records:
            bench_export(url, args.records)
        for poll in args.poll:
            for woken in (True, False):
                bench_webhooks(url, Path(tmp), args.events, poll, woken=woken)


if __name__ == "__main__":
    main()
