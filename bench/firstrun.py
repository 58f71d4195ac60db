"""Time a clean clone's ``make demo`` to its first record and to the end, twice.

    python bench/firstrun.py                 # the machine's pip and model caches (warm caches)
    python bench/firstrun.py --cold          # fresh, empty pip and model caches: what a new
                                             # machine pays (llama-cpp-python compiles, ~7+ min)
    python bench/firstrun.py --runs 1 --keep # one run; keep the clone for a look

The repository (default: the one this script is in, at its HEAD) is cloned into a
temporary directory with nothing beside it; ``make demo`` runs there. Run 1 is the first
run of that clone (with ``--cold``: also of the machine); run 2 is a second ``make demo`` in
the same clone (venv, model and knowledge base in place). The first record is the moment
the demo prints ``first record after`` (right after the first extracted record); the end
is ``make`` returning. Prints a table and writes the figures as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_RECORD = "first record after"  # printed by app/demo.py


@dataclass
class Run:
    label: str
    first_record_s: float | None
    end_s: float
    exit_code: int
    log: str


def clone(repo: str, ref: str, dest: Path) -> None:
    subprocess.run(["git", "clone", "--quiet", repo, str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "--quiet", ref], check=True)


def time_demo(checkout: Path, env: dict[str, str], label: str, log: Path) -> Run:
    """``make demo`` in ``checkout``: seconds to the first record and to the end."""
    started = time.monotonic()
    first: float | None = None
    with log.open("w") as sink:
        proc = subprocess.Popen(
            ["make", "demo"],
            cwd=checkout,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.monotonic() - started
            sink.write(f"[{now:7.1f}] {line}")
            sink.flush()
            if first is None and line.startswith(FIRST_RECORD):
                first = now
                print(f"  {label}: first record after {now:.0f} s", flush=True)
        code = proc.wait()
    end = time.monotonic() - started
    print(f"  {label}: make demo ended after {end:.0f} s (exit {code})", flush=True)
    return Run(label, first, end, code, str(log))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default=str(ROOT), help="repository to clone")
    parser.add_argument("--ref", default="HEAD", help="commit or branch to check out")
    parser.add_argument("--cold", action="store_true", help="fresh pip and model caches")
    parser.add_argument("--runs", type=int, default=2, help="make demo runs in the clone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()

    ref = subprocess.run(
        ["git", "-C", args.repo, "rev-parse", args.ref], capture_output=True, text=True, check=True
    ).stdout.strip()
    base = Path(tempfile.mkdtemp(prefix="shipdoc-firstrun-"))
    checkout = base / "shipdoc"  # nothing else beside it but the caches below
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPDOC_", "VIRTUAL_ENV"))}
    if args.cold:
        env["PIP_CACHE_DIR"] = str(base / "cache" / "pip")
        env["SHIPDOC_MODEL__CACHE_DIR"] = str(base / "cache" / "models")
    print(f"cloning {args.repo} at {ref[:10]} into {checkout}", flush=True)
    clone(args.repo, ref, checkout)
    runs = []
    try:
        for i in range(1, args.runs + 1):
            label = f"run {i}" + (" (cold caches)" if args.cold and i == 1 else "")
            runs.append(time_demo(checkout, env, label, base / f"demo-{i}.log"))
            if runs[-1].exit_code != 0:
                break
    finally:
        if not args.keep:
            shutil.rmtree(checkout, ignore_errors=True)
            shutil.rmtree(base / "cache", ignore_errors=True)
    print(f"\n{'run':<22} {'first record':>13} {'end':>9}")
    for run in runs:
        first = "-" if run.first_record_s is None else f"{run.first_record_s:.0f} s"
        print(f"{run.label:<22} {first:>13} {run.end_s:>7.0f} s")
    print(f"logs: {base}/demo-*.log (cpus: {os.cpu_count()})")
    figures = {
        "ref": ref,
        "cold": args.cold,
        "cpus": os.cpu_count(),
        "runs": [asdict(r) for r in runs],
    }
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    if any(r.exit_code != 0 for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
