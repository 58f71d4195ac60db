"""Knowledge-base benchmark: ingest throughput, query latency, and the 380k x 1024 scale.

    .venv/bin/python bench/kb.py [--sample 512] [--queries 200] [--synthetic 50000]

1. Ingest throughput (chunks/s) on a sample of HS2022 and CN 2026 chunks into a scratch
   local-mode collection; reference: the same upsert with random vectors (what Qdrant
   costs without the embedder).
2. Query latency p50/p99 on the built HS + CN collections (run `shipdoc kb ingest`
   first) for dense, sparse and hybrid; reference: embedding the query alone.
3. Synthetic 1024-d random vectors on the configured backend (local mode unless
   SHIPDOC_QDRANT_URL is set): upsert rate and query latency at growing sizes up to
   ``--synthetic``, extrapolated to 380k for local mode (exact search, linear in N).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models

# This script is named kb.py: keep its folder off the path so `import kb` finds the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from core.settings import KbSettings, Settings, get_settings  # noqa: E402
from kb import index, ingest, sparse  # noqa: E402
from kb.embedders import make_embedder  # noqa: E402
from kb.search import get_kb  # noqa: E402

TARGET_POINTS = 380_000
DIM = 1024


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def ingest_throughput(sample: int) -> None:
    settings = get_settings()
    chunks = ingest.load_chunks(settings, "hs2022")[: sample // 2]
    chunks += ingest.load_chunks(settings, "cn2026")[: sample // 2]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Settings(var_dir=Path(tmp), kb=KbSettings(collection_prefix="bench"))
        started = time.perf_counter()
        report = ingest.ingest(scratch, "hs2022", chunks=chunks)
        full = time.perf_counter() - started
        # reference: the same points with random vectors, no embedder
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
    print(f"ingest: {report.embedded} chunks in {full:.1f}s = {rate:.1f} chunks/s (local mode)")
    print(
        f"  reference, upsert with random vectors: {len(chunks) / upsert_only:.0f} chunks/s; "
        f"embedding is {full / upsert_only:.0f}x the Qdrant cost"
    )
    total = len(ingest.load_chunks(settings, "hs2022")) + len(
        ingest.load_chunks(settings, "cn2026")
    )
    print(f"  cold ingest of HS + CN ({total} chunks) at this rate: ~{total / rate / 60:.0f} min")


def query_latency(queries: int) -> None:
    settings = get_settings()
    kb = get_kb(settings)
    texts = [c.payload["title"] for c in ingest.load_chunks(settings, "cn2026")[::37]][:queries]
    client = index.open_client(settings)
    for corpus in ("hs2022", "cn2026"):
        name = index.collection_name(settings.kb, corpus)
        if not index.exists(client, name):
            print(f"query: {name} missing; run `shipdoc kb ingest` first")
            return
    points = sum(
        index.call(client.count, collection_name=index.collection_name(settings.kb, c)).count
        for c in ("hs2022", "cn2026")
    )
    kb.search("warm up")
    embed_ms = []
    for text in texts:
        t = time.perf_counter()
        kb.embedder.embed_queries([text])
        embed_ms.append((time.perf_counter() - t) * 1000)
    print(f"query latency over {points} points (local mode), {len(texts)} queries each:")
    print(f"  reference, query embedding alone: p50 {pct(embed_ms, 50):.1f} ms")
    for corpus in ("hs2022", "cn2026"):
        for mode in ("dense", "sparse", "hybrid"):
            ms = []
            for text in texts:
                t = time.perf_counter()
                kb.search(text, corpus=corpus, top=10, mode=mode)
                ms.append((time.perf_counter() - t) * 1000)
            print(
                f"  {corpus:<7} {mode:<7} p50 {pct(ms, 50):6.1f} ms  p99 {pct(ms, 99):6.1f} ms  "
                f"({statistics.median(ms) / pct(embed_ms, 50):.1f}x embedding)"
            )


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # local mode warns above 20k points
        for step in steps:
            t = time.perf_counter()
            while stored < step:
                vectors = rng.standard_normal((batch, DIM)).astype(np.float32)
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
            results.append((stored, pct(ms, 50), pct(ms, 99)))
            added = stored - (results[-2][0] if len(results) > 1 else 0)
            print(
                f"  {stored:>7} points: upsert {added / upsert_s:7.0f} pts/s, "
                f"query p50 {pct(ms, 50):7.1f} ms p99 {pct(ms, 99):7.1f} ms"
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
