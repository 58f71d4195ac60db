"""Load and backpressure: `shipdoc serve` + `shipdoc worker` (PostgreSQL, Redis) against the
simulated model, in three phases.

1. **Rate**: one upload every 3600/rate seconds for ``--seconds`` (bench/service.py's open
   loop), then throughput, p50/p99 time to outcome, overhead share, lost documents.
2. **Burst**: ``--burst`` uploads as fast as 8 clients can send them, with the queue limit
   ``SHIPDOC_RELIABILITY__MAX_QUEUE_DEPTH=--max-depth``: past it the API answers 429 with
   ``Retry-After``; every accepted document must still reach an outcome (0 lost).
3. **Memory**: the resident memory of the worker processes before and after.

    .venv/bin/python bench/load.py --seconds 60 --rate 1800 --latency 0.5 --burst 300
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.service import Row, Stack, collect, feed, report  # noqa: E402
from tests.sim_model_server import SimServer, invoice_pdf  # noqa: E402


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found += [int(entry), *_children(int(entry))]
    return found


def worker_rss_mb(stack: Stack) -> float:
    """Resident memory of the worker process and its pool children."""
    total = 0
    for pid in [stack.procs[1].pid, *_children(stack.procs[1].pid)]:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def burst(stack: Stack, n: int, tag: str) -> tuple[list[Row], dict[str, int], list[str]]:
    """``n`` uploads from 8 clients at once; returns the accepted rows, answers by status,
    and the Retry-After values of the 429s."""
    headers = {"Authorization": f"Bearer {stack.token}"}
    answers: dict[str, int] = {}
    retry_after: list[str] = []
    rows: list[Row] = []
    with (
        httpx.Client(base_url=stack.base, headers=headers, timeout=60) as client,
        ThreadPoolExecutor(8) as pool,
    ):

        def upload(i: int) -> None:
            files = [
                ("files", (f"{tag}-{i}.pdf", invoice_pdf(f"INV-{tag}-{i}"), "application/pdf"))
            ]
            sent = time.time()
            response = client.post("/v1/documents", files=files)
            key = str(response.status_code)
            answers[key] = answers.get(key, 0) + 1
            if response.status_code == 429:
                retry_after.append(response.headers.get("retry-after", ""))
            elif response.status_code in (200, 202):
                doc_id = response.json()["documents"][0]["document_id"]
                rows.append(Row(doc_id=doc_id, sent=sent, upload_s=time.time() - sent))

        list(pool.map(upload, range(n)))
    return rows, answers, retry_after


def main() -> None:
    parser = argparse.ArgumentParser(description="shipdoc load and backpressure benchmark")
    parser.add_argument("--seconds", type=float, default=60.0, help="upload time of phase 1")
    parser.add_argument("--rate", type=float, default=1800.0, help="documents per hour")
    parser.add_argument("--latency", type=float, default=0.5, help="model seconds/request")
    parser.add_argument("--concurrency", type=int, default=4, help="extract worker processes")
    parser.add_argument("--burst", type=int, default=300, help="uploads in phase 2")
    parser.add_argument("--max-depth", type=int, default=40, help="queue limit for 429")
    parser.add_argument("--drain", type=float, default=600.0, help="max wait for outcomes")
    args = parser.parse_args()
    env = {"SHIPDOC_RELIABILITY__MAX_QUEUE_DEPTH": str(args.max_depth)}
    with tempfile.TemporaryDirectory() as tmp, SimServer(latency=args.latency) as sim:
        stack = Stack(sim.url, args.concurrency, "prefork", Path(tmp), extra_env=env)
        try:
            stack.wait_ready()
            warm = feed(stack, 3600.0, 1.0, "warm")
            collect(stack, warm, args.drain)
            rss_start = worker_rss_mb(stack)
            rows = feed(stack, args.rate, args.seconds, "rate")
            collect(stack, rows, args.drain)
            report("rate", args.rate, rows, args.latency)
            accepted, answers, retry_after = burst(stack, args.burst, "burst")
            collect(stack, accepted, args.drain)
            lost = sum(1 for r in accepted if r.finished is None)
            print(f"\n== burst: {args.burst} uploads at once, queue limit {args.max_depth} ==")
            print(f"answers                         {dict(sorted(answers.items()))}")
            print(f"429 with Retry-After            {sum(1 for v in retry_after if v)}")
            print(f"accepted documents lost         {lost} of {len(accepted)}")
            rss_end = worker_rss_mb(stack)
            total = len(rows) + len(accepted) + len(warm)
            print(
                f"\nworker memory (all processes)   {rss_start:.0f} MB -> {rss_end:.0f} MB "
                f"over {total} documents"
            )
        finally:
            stack.close()


if __name__ == "__main__":
    main()
