"""Page preprocessing (tools/parse/preprocess.py): each step is taken only when the page
needs it, boxes map back onto the page as given, and no image makes it fail."""

from __future__ import annotations

import io
import math
from functools import cache

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from evals.render.scan import ScanParams, photograph
from tests import factories
from tools.parse import parse_bytes, preprocess
from tools.parse.preprocess import Plan, apply, measure, plan, prepare

A4_LINES = factories.full_page_lines(seed=3)


@cache
def a4(dpi: int) -> Image.Image:
    """A full A4 page of 9 pt text scanned at ``dpi``."""
    return factories.page_image(A4_LINES, dpi=dpi, size=factories.A4)


def worn(image: Image.Image, **damage: float) -> Image.Image:
    """The page faded, unevenly lit, ... as the degraded corpus makes it."""
    params = ScanParams(dpi=300, rotation=0, blur=0, noise=0, jpeg_quality=90, seed=5, **damage)
    return photograph(image, params, 0)


def test_a_clean_300_dpi_scan_is_left_alone() -> None:
    page = a4(300)
    prepared = prepare(page)
    assert prepared.plan == Plan()
    assert prepared.image is page


@pytest.mark.parametrize("dpi", [100, 150])
def test_a_low_resolution_scan_is_upscaled_to_about_300_dpi(dpi: int) -> None:
    page = a4(dpi)
    stats = measure(page)
    assert stats.text_height is not None and stats.text_height < preprocess.UPSCALE_BELOW
    prepared = prepare(page)
    assert prepared.plan.scale == pytest.approx(
        preprocess.TARGET_TEXT_HEIGHT / stats.text_height, rel=0.01
    )
    assert prepared.image.width == pytest.approx(page.width * prepared.plan.scale, abs=1)
    # The upscaled text is as tall as a 300-dpi scan's.
    after = measure(prepared.image).text_height
    clean = measure(a4(300)).text_height
    assert after is not None and clean is not None
    assert after == pytest.approx(clean, rel=0.25)


@pytest.mark.parametrize("angle", [-3.0, 1.2, 6.5])
def test_a_skewed_scan_is_deskewed_within_half_a_degree(angle: float) -> None:
    skewed = a4(200).rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    assert measure(skewed).skew == pytest.approx(-angle, abs=0.5)
    prepared = prepare(skewed)
    assert prepared.plan.rotate == pytest.approx(-angle, abs=0.5)
    assert abs(measure(prepared.image).skew) <= 0.5


def test_a_level_page_is_not_turned() -> None:
    assert measure(a4(200)).skew == pytest.approx(0.0, abs=0.2)
    assert prepare(a4(200)).plan.rotate == 0.0


def test_a_faded_print_is_flattened_to_full_contrast() -> None:
    faded = worn(a4(300), fade=0.7)
    stats = measure(faded)
    assert stats.contrast < preprocess.FADED_BELOW
    prepared = prepare(faded)
    assert prepared.plan.flatten
    assert measure(prepared.image).contrast > 180


def test_uneven_light_is_flattened() -> None:
    dim = worn(a4(300), light=0.6)
    assert measure(dim).unevenness > preprocess.UNEVEN_ABOVE
    prepared = prepare(dim)
    assert prepared.plan.flatten
    assert measure(prepared.image).unevenness < preprocess.UNEVEN_ABOVE / 2


def test_a_photo_with_the_table_around_the_page_is_measured_as_the_page() -> None:
    photo = worn(a4(200), perspective=0.06)
    stats = measure(photo)
    flat = measure(a4(200))
    assert stats.has_text and flat.text_height is not None
    assert stats.text_height == pytest.approx(flat.text_height, rel=0.2)
    assert abs(stats.skew) < 1.0


def test_a_receipt_is_read_as_one_column_and_a_form_is_not() -> None:
    lines = tuple(f"{n:02d} ITEM {'X' * (n % 7)} {n * 1.25:8.2f} EUR" for n in range(40))
    receipt = factories.page_image(lines, dpi=200, size=(200.0, 640.0))
    assert prepare(receipt).plan.psm == preprocess.PSM_COLUMN
    assert prepare(a4(200)).plan.psm is None


def test_boxes_map_back_onto_the_page_as_given() -> None:
    page = Image.new("L", (800, 1000), 255)
    page.paste(0, (300, 400, 420, 430))
    prepared = apply(page, Plan(scale=2.0, rotate=4.0))
    ink = np.argwhere(np.asarray(prepared.image) < 128)
    (y0, x0), (y1, x1) = ink.min(axis=0), ink.max(axis=0) + 1
    box = prepared.transform.box(float(x0), float(y0), float(x1), float(y1))
    # The box around the turned bar holds the bar and little more (its corners stick out).
    slack = 120 * math.sin(math.radians(4.0)) + 3
    assert 300 - slack <= box[0] <= 300 and 420 <= box[2] <= 420 + slack
    assert 400 - slack <= box[1] <= 400 and 430 <= box[3] <= 430 + slack


def _hostile() -> dict[str, Image.Image]:
    rng = np.random.default_rng(1)
    return {
        "1x1": Image.new("L", (1, 1), 0),
        "thin": Image.new("L", (4000, 2), 0),
        "black": Image.new("L", (600, 800), 0),
        "white": Image.new("L", (600, 800), 255),
        "noise": Image.fromarray(rng.integers(0, 256, (800, 600), dtype=np.uint8), mode="L"),
        "half": Image.fromarray(np.tile(np.arange(600) < 300, (800, 1)).astype(np.uint8) * 255),
        "huge": Image.new("L", (9000, 6500), 255),
        "bilevel": a4(100).convert("1"),
        "rgba": a4(100).convert("RGBA"),
        "16-bit": a4(100).convert("I;16"),
        "float": a4(100).convert("F"),
        "palette": a4(100).convert("P"),
    }


@pytest.mark.parametrize("name", list(_hostile()))
def test_no_image_makes_preprocessing_fail(name: str) -> None:
    image = _hostile()[name]
    prepared = prepare(image)
    if not prepared.plan.changes_image:
        assert prepared.image is image
    else:
        assert prepared.image.mode == "L"


def test_a_failure_inside_preprocessing_leaves_the_page_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def out_of_memory(image: Image.Image) -> preprocess.PageStats:
        raise MemoryError("no room")

    monkeypatch.setattr(preprocess, "measure", out_of_memory)
    page = a4(100)
    prepared = prepare(page)
    assert prepared.image is page
    assert prepared.plan.reasons == ("skipped: MemoryError",)


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["1x1", "black", "white", "noise", "half", "truncated"])
def test_hostile_images_parse_or_raise_a_typed_error(name: str) -> None:
    data = _png(_hostile()["noise"])[:300] if name == "truncated" else _png(_hostile()[name])
    try:
        doc = parse_bytes(data)
    except InputError:
        assert name == "truncated"
        return
    assert doc.page_count == 1 and doc.pages[0].method == "ocr"


def test_the_plan_for_a_page_without_text_is_empty() -> None:
    assert plan(measure(Image.new("L", (600, 800), 255))) == Plan()
