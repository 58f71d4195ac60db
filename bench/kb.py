"""Knowledge-base benchmark: ingest (snapshot and scratch), lookup latency, scale.

    SHIPDOC_KB__EMBED_THREADS=1 .venv/bin/python bench/kb.py [--sample 256] [--queries 200]

Every figure sits beside Qdrant local mode's own at the same size, measured in the same run:

1. Ingest of HS2022 + CN 2026 into a scratch folder: from the prebuilt snapshot (all
   ~16.7k points), from scratch (a ``--sample`` of chunks embedded, extrapolated), and the
   reference upsert of the same points with random vectors (Qdrant's own cost).
2. Query latency p50/p99 of the agent's ``lookup_tariff`` (HS + CN, query embedding
   included) and of a plain hybrid search, with the in-process matrix index
   (``kb.local_index=matrix``, the default) and with Qdrant local mode
   (``kb.local_index=qdrant``) over the same built collections; reference: the query
   embedding alone.
3. Synthetic 384-d and 1024-d random vectors: the matrix index and Qdrant (local mode, or
   the server of SHIPDOC_QDRANT_URL) at growing sizes up to ``--synthetic``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models

# This script is named kb.py: keep its folder off the path so `import kb` finds the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from core.settings import KbSettings, Settings, get_settings  # noqa: E402
from core.stats import percentile  # noqa: E402
from evals.retrieval import DEFAULT_GOLDEN, load_golden  # noqa: E402
from kb import index, ingest, sparse  # noqa: E402
from kb.embedders import make_embedder  # noqa: E402
from kb.matrix import MatrixIndex  # noqa: E402
from kb.search import get_kb  # noqa: E402
from tools.tariff import lookup_tariff  # noqa: E402

TARGET_POINTS = 380_000
DIM = 1024


def ingest_throughput(sample: int) -> None:
    settings = get_settings()
    hs = ingest.load_chunks(settings, "hs2022")
    cn = ingest.load_chunks(settings, "cn2026")
    total = len(hs) + len(cn)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Settings(var_dir=Path(tmp), kb=KbSettings(collection_prefix="bench"))
        started = time.perf_counter()
        reports = [
            ingest.ingest(scratch, c, chunks=chunks)
            for c, chunks in (("hs2022", hs), ("cn2026", cn))
        ]
        snap = time.perf_counter() - started
        used = sum(r.from_snapshot for r in reports)
        print(
            f"ingest HS + CN ({total} points) from the snapshot: {snap:.1f}s "
            f"({used} vectors from it, {sum(r.embedded for r in reports)} embedded; "
            f"{', '.join(f'{r.corpus} {r.snapshot}' for r in reports)})"
        )
        started = time.perf_counter()
        kb = get_kb(scratch)
        kb.matrix("hs2022"), kb.matrix("cn2026")
        took = time.perf_counter() - started
        print(f"  then reading both into the in-process matrix index: {took:.1f}s")
        index.close_local_clients()
    chunks = hs[: sample // 2] + cn[: sample // 2]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Settings(var_dir=Path(tmp), kb=KbSettings(collection_prefix="bench"))
        started = time.perf_counter()
        report = ingest.ingest(scratch, "hs2022", chunks=chunks, use_snapshot=False)
        full = time.perf_counter() - started
        client = index.open_client(scratch)
        rng = np.random.default_rng(0)
        dim = make_embedder(settings.kb).dim
        client.create_collection(
            "reference",
            vectors_config={
                index.DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)
            },
            sparse_vectors_config={
                index.LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)
            },
        )
        started = time.perf_counter()
        for i in range(0, len(chunks), ingest.BATCH):
            batch = chunks[i : i + ingest.BATCH]
            client.upsert(
                "reference",
                [
                    models.PointStruct(
                        id=c.point_id,
                        vector={
                            index.DENSE: rng.standard_normal(dim).tolist(),
                            index.LEXICAL: sparse.passage_vector(c.text),
                        },
                        payload=c.payload,
                    )
                    for c in batch
                ],
            )
        upsert_only = time.perf_counter() - started
        index.close_local_clients()
    rate = report.embedded / full
    print(f"ingest from scratch: {report.embedded} chunks in {full:.1f}s = {rate:.1f} chunks/s")
    print(f"  cold ingest of HS + CN ({total} chunks) at this rate: ~{total / rate / 60:.0f} min")
    print(
        f"  reference, Qdrant local mode upsert with random vectors: "
        f"{len(chunks) / upsert_only:.0f} chunks/s (~{total / (len(chunks) / upsert_only):.0f}s "
        "for HS + CN)"
    )


def _p(ms: list[float]) -> str:
    return f"p50 {percentile(ms, 0.5):6.1f} ms  p99 {percentile(ms, 0.99):6.1f} ms"


def _timed(fn: Callable[[str], object], texts: list[str]) -> list[float]:
    ms = []
    for text in texts:
        t = time.perf_counter()
        fn(text)
        ms.append((time.perf_counter() - t) * 1000)
    return ms


def query_latency(queries: int) -> None:
    base = get_settings()
    cases = load_golden(DEFAULT_GOLDEN)
    texts = [c.text for c in cases[:: max(1, len(cases) // queries)]][:queries]
    client = index.open_client(base)
    for corpus in ("hs2022", "cn2026"):
        if not index.exists(client, index.collection_name(base.kb, corpus)):
            print(f"query: {corpus} missing; run `shipdoc kb ingest` first")
            return
    points = sum(
        index.call(client.count, collection_name=index.collection_name(base.kb, c)).count
        for c in ("hs2022", "cn2026")
    )
    kb = get_kb(base)
    kb.embedder.embed_queries(["warm up"])
    embed = _timed(lambda t: kb.embedder.embed_queries([t]), texts)
    print(f"query latency over {points} points, {len(texts)} golden-set queries each:")
    print(f"  reference, query embedding alone:  {_p(embed)}")
    for local_index in ("matrix", "qdrant"):
        settings = base.model_copy(
            update={"kb": base.kb.model_copy(update={"local_index": local_index})}
        )
        kb = get_kb(settings)
        started = time.perf_counter()
        lookup_tariff("warm up", settings=settings)
        warm = time.perf_counter() - started
        ms = _timed(lambda t, s=settings: lookup_tariff(t, settings=s), texts)
        print(f"  {local_index:<6} lookup_tariff (HS+CN)  {_p(ms)}  (first call {warm:.1f}s)")
        ms = _timed(lambda t, k=kb: k.search(t, level=6, top=10), texts)
        print(f"  {local_index:<6} hybrid search HS6      {_p(ms)}")


def synthetic(max_points: int) -> None:
    settings = get_settings()
    url = settings.kb.qdrant_url
    client = QdrantClient(url=url, check_compatibility=False) if url else QdrantClient(":memory:")
    backend = url or "local mode (:memory:)"
    name = "bench_synthetic"
    if client.collection_exists(name):
        client.delete_collection(name)
    kb = settings.kb
    client.create_collection(
        name,
        vectors_config=models.VectorParams(
            size=DIM, distance=models.Distance.COSINE, on_disk=kb.on_disk or bool(url)
        ),
        hnsw_config=models.HnswConfigDiff(m=kb.hnsw_m, ef_construct=kb.hnsw_ef_construct),
        quantization_config=models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)
        )
        if url
        else None,
    )
    rng = np.random.default_rng(1)
    stored, batch = 0, 2000
    steps = [
        n for n in (10_000, 25_000, 50_000, 100_000, 200_000, TARGET_POINTS) if n <= max_points
    ]
    print(f"synthetic {DIM}-d on {backend}:")
    results: list[tuple[int, float, float]] = []
    kept: list[np.ndarray] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # local mode warns above 20k points
        for step in steps:
            t = time.perf_counter()
            while stored < step:
                vectors = rng.standard_normal((batch, DIM)).astype(np.float32)
                kept.append(vectors)
                client.upsert(
                    name,
                    [
                        models.PointStruct(id=stored + i, vector=v.tolist())
                        for i, v in enumerate(vectors)
                    ],
                    wait=True,
                )
                stored += batch
            upsert_s = time.perf_counter() - t
            ms = []
            for _ in range(20):
                q = rng.standard_normal(DIM).astype(np.float32).tolist()
                t = time.perf_counter()
                client.query_points(name, query=q, limit=10)
                ms.append((time.perf_counter() - t) * 1000)
            results.append((stored, percentile(ms, 0.5), percentile(ms, 0.99)))
            added = stored - (results[-2][0] if len(results) > 1 else 0)
            matrix_index = MatrixIndex(
                [str(i) for i in range(stored)], [{}] * stored, np.vstack(kept), []
            )
            mx = []
            for _ in range(20):
                q = rng.standard_normal(DIM).astype(np.float32)
                t = time.perf_counter()
                matrix_index.query(dense=q, sparse=None, mode="dense", limit=10)
                mx.append((time.perf_counter() - t) * 1000)
            print(
                f"  {stored:>7} points: Qdrant upsert {added / upsert_s:7.0f} pts/s, "
                f"query {_p(ms)}; matrix index query {_p(mx)}"
            )
    if not url and results and results[-1][0] < TARGET_POINTS:
        n, p50, _ = results[-1]
        per_point = p50 / n
        gib = TARGET_POINTS * DIM * 4 / 2**30
        print(
            f"  local mode is exact search (linear in N): ~{per_point * TARGET_POINTS:.0f} ms "
            f"per query at {TARGET_POINTS} points, extrapolated from {n}; the float32 vectors "
            f"alone need {gib:.1f} GiB of RAM.\n  At that scale use a Qdrant server: HNSW "
            f"m={kb.hnsw_m}, ef_construct={kb.hnsw_ef_construct}, on-disk vectors, int8 scalar "
            "quantization (SHIPDOC_QDRANT_URL, SHIPDOC_KB__ON_DISK, SHIPDOC_KB__QUANTIZATION)."
        )
    client.delete_collection(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=512, help="chunks for the ingest run")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--synthetic", type=int, default=50_000, help="max synthetic points")
    parser.add_argument("--skip", nargs="*", default=[], choices=["ingest", "query", "synthetic"])
    args = parser.parse_args()
    if "ingest" not in args.skip:
        ingest_throughput(args.sample)
    if "query" not in args.skip:
        query_latency(args.queries)
    if "synthetic" not in args.skip:
        synthetic(args.synthetic)


if __name__ == "__main__":
    main()
