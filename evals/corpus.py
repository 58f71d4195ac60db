"""The synthetic corpus: documents with ground truth, deterministic from a seed.

``generate_corpus(out_dir, n, seed)`` writes ``<id>.<ext>`` and ``<id>.json`` (a
``GroundTruth``: the file's records in the envelope of ``core.records`` with provenance,
plus how the file was made) for each of ``n`` items.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from core.records import DocType, FileRecords, values_to_record
from evals.refdata import LANGS
from evals.render.layouts import LAYOUTS, RENDERERS
from evals.render.pdf import (
    Stamp,
    concat,
    finish_pdf,
    html_pages_to_pdf,
    locate,
    page_count,
    paginate,
)
from evals.render.scan import MEDIA_TYPES, ScanFormat, ScanParams, scan_pdf
from evals.render.view import (
    DocView,
    Style,
    bill_of_lading_view,
    declaration_view,
    invoice_view,
    packing_list_view,
)
from evals.shipment import (
    Shipment,
    bill_of_lading_values,
    declaration_values,
    invoice_values,
    make_shipment,
    packing_list_values,
)

SHORT: dict[DocType, str] = {
    "bill_of_lading": "bl",
    "commercial_invoice": "inv",
    "packing_list": "pl",
    "customs_declaration": "cd",
}
STAMPS = ("ORIGINAL", "COPY", "RECEIVED", "PAID", "VERIFIED")


class ItemSpec(BaseModel):
    """How one corpus file is made (all of it is recorded in the ground truth)."""

    id: str
    seed: str
    doc_types: list[DocType]
    layout: str
    lang: str
    line_count: int
    stamp: str | None = None
    style: dict[str, bool] = Field(default_factory=dict)
    scan: dict[str, Any] | None = None
    scan_format: ScanFormat | None = None


class GroundTruth(FileRecords):
    id: str
    media_type: str
    page_count: int
    spec: ItemSpec


def _view(doc_type: DocType, s: Shipment, rng: random.Random, style: Style) -> tuple[Any, DocView]:
    builders: dict[DocType, tuple[Callable[..., Any], Callable[..., DocView]]] = {
        "bill_of_lading": (bill_of_lading_values, bill_of_lading_view),
        "commercial_invoice": (invoice_values, invoice_view),
        "packing_list": (packing_list_values, packing_list_view),
        "customs_declaration": (declaration_values, declaration_view),
    }
    make_values, make_view = builders[doc_type]
    values = make_values(s, rng)
    return values, make_view(values, s.lang, style)


def item_views(spec: ItemSpec) -> Iterator[tuple[DocType, Any, DocView, Stamp | None]]:
    """Each document of the item: its type, values, what it shows and its stamp."""
    rng = random.Random(spec.seed)
    shipment = make_shipment(rng, spec.lang, spec.line_count)
    style = Style(**spec.style)
    for doc_type in spec.doc_types:
        values, view = _view(doc_type, shipment, rng, style)
        stamp = None
        if spec.stamp:
            stamp = Stamp(spec.stamp, round(rng.uniform(-20, 20), 1), (0.75, 0.1, 0.1))
        yield doc_type, values, view, stamp


def build_item(spec: ItemSpec) -> tuple[bytes, GroundTruth]:
    """The file's bytes and its ground truth; the same spec always gives the same result."""
    parts: list[bytes] = []
    records = []
    first_page = 1
    for doc_type, values, view, stamp in item_views(spec):
        html = paginate(RENDERERS[spec.layout](view), view.rows)
        pdf = finish_pdf(html_pages_to_pdf(html), spec.lang, stamp)
        prov = locate(pdf, view.printed(), with_boxes=spec.scan is None)
        n = page_count(pdf)
        for p in prov.values():
            if p.page is not None:
                p.page += first_page - 1
        pages = list(range(first_page, first_page + n))
        records.append(values_to_record(doc_type, values, pages=pages, provenance=prov))
        parts.append(pdf)
        first_page += n
    data = parts[0] if len(parts) == 1 else concat(parts)
    media_type = "application/pdf"
    ext = "pdf"
    if spec.scan is not None and spec.scan_format is not None:
        data = scan_pdf(data, ScanParams(**spec.scan), spec.scan_format)
        media_type = MEDIA_TYPES[spec.scan_format]
        ext = spec.scan_format
    truth = GroundTruth(
        file=f"{spec.id}.{ext}",
        id=spec.id,
        media_type=media_type,
        page_count=first_page - 1,
        spec=spec,
        documents=records,
    )
    return data, truth


def plan_item(seed: int, index: int) -> ItemSpec:
    """The spec of item ``index`` of the corpus with ``seed``: types, layouts and languages
    rotate so every combination is covered; the rest is drawn at random."""
    item_seed = f"{seed}:{index}"
    rng = random.Random(item_seed + ":plan")
    types: list[DocType] = [
        ["commercial_invoice"],
        ["packing_list"],
        ["bill_of_lading"],
        ["customs_declaration"],
    ][index % 4]  # type: ignore[assignment]
    if index % 10 == 9:
        types = rng.choice(
            [
                ["commercial_invoice", "packing_list"],
                ["bill_of_lading", "commercial_invoice", "packing_list"],
                ["commercial_invoice", "packing_list", "customs_declaration"],
            ]
        )
    long = rng.random() < 0.2
    scanned = rng.random() < 0.3 and not long
    line_count = rng.randint(40, 70) if long else rng.randint(1, 8 if scanned else 12)
    spec = ItemSpec(
        id=f"c{seed}-{index:04d}-{'-'.join(SHORT[t] for t in types)}",
        seed=item_seed,
        doc_types=types,
        layout=LAYOUTS[(index // 4) % len(LAYOUTS)],
        lang=LANGS[(index // 12 + index) % len(LANGS)],
        line_count=line_count,
        stamp=rng.choice(STAMPS) if rng.random() < 0.4 else None,
        style={
            "dotted_hs": rng.random() < 0.5,
            "upper_places": rng.random() < 0.5,
            "iso_dates": rng.random() < 0.2,
        },
    )
    if scanned:
        low = rng.random() < 0.25
        spec.scan = {
            "dpi": 150 if low else rng.choice((200, 300)),
            "rotation": round(rng.uniform(-2.5, 2.5), 2),
            "blur": round(rng.uniform(0.0, 0.9), 2),
            "noise": round(rng.uniform(0.0, 12.0), 1),
            "jpeg_quality": rng.randint(35, 85),
            "seed": rng.randint(0, 2**31),
        }
        spec.scan_format = "pdf" if len(types) > 1 else rng.choice(("png", "jpg", "tiff", "pdf"))
    return spec


class CorpusSummary(BaseModel):
    files: int
    documents: int
    pages: int
    by_doc_type: dict[str, int]
    by_layout: dict[str, int]
    by_lang: dict[str, int]
    by_media_type: dict[str, int]
    scanned_files: int
    multi_document_files: int
    multi_page_documents: int
    line_items: int


def summarise(truths: list[GroundTruth]) -> CorpusSummary:
    docs = [d for t in truths for d in t.documents]
    return CorpusSummary(
        files=len(truths),
        documents=len(docs),
        pages=sum(t.page_count for t in truths),
        by_doc_type=dict(sorted(Counter(d.doc_type for d in docs).items())),
        by_layout=dict(sorted(Counter(t.spec.layout for t in truths).items())),
        by_lang=dict(sorted(Counter(t.spec.lang for t in truths).items())),
        by_media_type=dict(sorted(Counter(t.media_type for t in truths).items())),
        scanned_files=sum(1 for t in truths if t.spec.scan is not None),
        multi_document_files=sum(1 for t in truths if len(t.documents) > 1),
        multi_page_documents=sum(1 for d in docs if len(d.pages) > 1),
        line_items=sum(len(d.line_items) for d in docs),
    )


def write_item(out_dir: Path, data: bytes, truth: GroundTruth) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / truth.file
    path.write_bytes(data)
    (out_dir / f"{truth.id}.json").write_text(truth.model_dump_json(indent=1) + "\n", "utf-8")
    return path


def generate_corpus(out_dir: Path, n: int, seed: int) -> CorpusSummary:
    """Write ``n`` files and their ground truth to ``out_dir``."""
    truths = []
    for index in range(n):
        data, truth = build_item(plan_item(seed, index))
        write_item(out_dir, data, truth)
        truths.append(truth)
    return summarise(truths)


DEMO_SEED = 7


def demo_documents(out_dir: Path) -> list[Path]:
    """A bill of lading, an invoice, a packing list and a customs declaration (the
    declaration a scan), each with its ground truth JSON beside it."""
    specs = [
        ItemSpec(
            id="demo-bill-of-lading",
            seed=f"demo:{DEMO_SEED}:bl",
            doc_types=["bill_of_lading"],
            layout="boxed",
            lang="en",
            line_count=3,
        ),
        ItemSpec(
            id="demo-invoice",
            seed=f"demo:{DEMO_SEED}:inv",
            doc_types=["commercial_invoice"],
            layout="letterhead",
            lang="de",
            line_count=5,
            stamp="PAID",
        ),
        ItemSpec(
            id="demo-packing-list",
            seed=f"demo:{DEMO_SEED}:pl",
            doc_types=["packing_list"],
            layout="plain",
            lang="nl",
            line_count=4,
        ),
        ItemSpec(
            id="demo-customs-declaration",
            seed=f"demo:{DEMO_SEED}:cd",
            doc_types=["customs_declaration"],
            layout="boxed",
            lang="fr",
            line_count=3,
            scan={
                "dpi": 200,
                "rotation": 1.2,
                "blur": 0.4,
                "noise": 6.0,
                "jpeg_quality": 70,
                "seed": DEMO_SEED,
            },
            scan_format="png",
        ),
    ]
    return [write_item(out_dir, *build_item(spec)) for spec in specs]
