"""Chat benchmark: time from a question to its first answer token at the client (SSE over
the HTTP API), beside the model's own time to first token, for the scripted model, the
OpenAI-compatible wire (the simulated server, streaming) and the local GGUF model.

    .venv/bin/python bench/chat.py                  # scripted and the OpenAI wire
    .venv/bin/python bench/chat.py --local          # and llama.cpp in process (slow on CPU)

The knowledge base is a small procedure in Qdrant local mode, embedded in process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.api import create_app  # noqa: E402
from core import migrate  # noqa: E402
from core.auth import create_key  # noqa: E402
from core.models import Role  # noqa: E402
from core.settings import Settings  # noqa: E402
from kb.index import close_local_clients  # noqa: E402
from kb.ingest import ingest  # noqa: E402
from tests.sim_model_server import SimServer  # noqa: E402

HOLD = """# Procedure: customs hold

## When a container is held

Keep the container in the bonded area. Notify the customs broker within 2 hours and
send the commercial invoice and packing list. Do not release cargo before the hold is lifted.
"""
QUESTION = "What do we do when customs holds a container?"
ANSWER = (
    "Keep the container in the bonded area and notify the customs broker within two hours; "
    "send the commercial invoice and the packing list, and release nothing before the hold "
    "is lifted."
)


def ask(client: TestClient, token: str) -> tuple[float, float, dict[str, Any]]:
    """(seconds to the first delta at the client, to the end, the done event)."""
    started = time.perf_counter()
    first = 0.0
    done: dict[str, Any] = {}
    with client.stream(
        "POST",
        "/v1/chat",
        json={"question": QUESTION},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                if name == "delta" and not first:
                    first = time.perf_counter() - started
                elif name == "done":
                    done = json.loads(line[6:])
                elif name == "error":
                    raise RuntimeError(line)
    return first, time.perf_counter() - started, done


def run(label: str, settings: Settings, n: int) -> None:
    token = create_key(settings.database_url, Role.OPERATOR, "bench").token
    rows = []
    with TestClient(create_app(settings)) as client:
        ask(client, token)  # warm-up: embedder and model loaded
        for _ in range(n):
            rows.append(ask(client, token))
    first = statistics.median(r[0] for r in rows)
    total = statistics.median(r[1] for r in rows)
    model = [r[2].get("model_first_token_s") for r in rows]
    model_first = statistics.median(m for m in model if m is not None) if any(model) else None
    shown = f"{model_first * 1000:8.0f}" if model_first is not None else "       -"
    print(f"{label:28} {first * 1000:10.0f} {shown} {total * 1000:10.0f} {n:4}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--local", action="store_true", help="also the local GGUF model")
    parser.add_argument("--local-model", default="qwen2.5-1.5b", help="a known model key")
    parser.add_argument("--token-delay", type=float, default=0.02, help="simulated server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "docs").mkdir()
        (root / "docs" / "procedure-customs-hold.md").write_text(HOLD)
        base = Settings(
            environment="test",
            var_dir=root / "var",
            kb={"docs_dir": root / "docs", "qdrant_path": root / "qdrant", "embed_threads": 1},
        )
        migrate.upgrade(base.database_url)
        ingest(base, "docs")
        print("median ms over", args.questions, "questions (after one warm-up)")
        print(f"{'model':28} {'1st token':>10} {'model 1st':>8} {'answer':>10} {'n':>4}")
        script = root / "script.json"
        script.write_text(json.dumps([ANSWER] * (args.questions + 1)))
        scripted = base.model_copy(
            update={
                "model": base.model.model_copy(
                    update={"backend": "scripted", "script_path": script}
                )
            }
        )
        run("scripted", scripted, args.questions)
        with SimServer() as sim:
            sim.behaviour.token_delay = args.token_delay
            wire = base.model.model_copy(
                update={"backend": "openai", "base_url": sim.url, "name": "sim", "retries": 0}
            )
            run(
                f"openai wire (sim, {args.token_delay * 1000:.0f} ms/token)",
                base.model_copy(update={"model": wire}),
                args.questions,
            )
        if args.local:
            local = base.model.model_copy(
                update={"backend": "local", "name": args.local_model, "n_threads": 2}
            )
            run(f"local {local.name}", base.model_copy(update={"model": local}), args.questions)
        close_local_clients()


if __name__ == "__main__":
    main()
