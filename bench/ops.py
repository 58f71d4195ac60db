"""Costs of the production instrumentation on this machine: a model span (no tracer, and
the SDK with an in-memory exporter) and the routing decision.

    .venv/bin/python bench/ops.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SPAN = """
import time, statistics
from agent.models.base import ChatRequest, Message
from agent.models.scripted import ScriptedModel
from agent.models.tracing import TracedModel
from core import telemetry
{setup}
n = 5000
req = ChatRequest(messages=[Message(role="user", content="x")])
bare = ScriptedModel(["ok"] * n)
traced = TracedModel(ScriptedModel(["ok"] * n))
def per_call(model):
    t = time.perf_counter()
    for _ in range(n):
        model.chat(req)
    return (time.perf_counter() - t) / n * 1e6
per_call(ScriptedModel(["ok"] * n))
print(round(per_call(traced) - per_call(bare), 1))
"""

SETUPS = {
    "no tracer (OTEL endpoint unset)": "",
    "SDK, in-memory exporter": (
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import "
        "InMemorySpanExporter\ntelemetry.configure(exporter=InMemorySpanExporter())"
    ),
}


def span_overhead() -> None:
    for name, setup in SETUPS.items():
        runs = [
            float(
                subprocess.run(
                    [sys.executable, "-c", _SPAN.format(setup=setup)],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for _ in range(3)
        ]
        print(f"model span + metrics, {name}: {statistics.median(runs):.1f} us a request")


def routing() -> None:
    from agent.routing import Features, decide

    features = Features(
        doc_type="commercial_invoice",
        pages=12,
        scanned_share=1.0,
        ocr_confidence=61.0,
        line_items=60,
        sender="s",
        sender_issues=1,
    )
    n = 50_000
    started = time.perf_counter()
    for _ in range(n):
        decide(features)
    print(f"routing decision: {(time.perf_counter() - started) / n * 1e6:.1f} us")


if __name__ == "__main__":
    span_overhead()
    routing()
