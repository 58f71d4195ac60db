"""tools/tariff: ranked candidates with their path, and code existence without an embedder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import KbSettings, Settings
from kb import index, ingest
from kb.chunks import Chunk
from tools.tariff import LookupTariffArgs, hs_code_exists, lookup_tariff

# A slice of the tariff where bicycles compete with motorcycles, cars, cycle parts and tyres.
CHAPTERS = ("87", "40", "95", "61")
HEADINGS = ("8703", "8711", "8712", "8713", "8714", "4011", "9506", "6109")


def _subset(chunks: list[Chunk]) -> list[Chunk]:
    return [
        c
        for c in chunks
        if str(c.payload["code"]) in CHAPTERS or str(c.payload["code"])[:4] in HEADINGS
    ]


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = Settings(var_dir=tmp_path_factory.mktemp("kb"), kb=KbSettings())
    ingest.ingest(settings, "hs2022", chunks=_subset(ingest.load_chunks(settings, "hs2022")))
    cn = [c for c in ingest.load_chunks(settings, "cn2026") if c.payload["code"][:4] == "8712"]
    ingest.ingest(settings, "cn2026", chunks=cn)
    yield settings
    index.close_local_clients()


def test_mountain_bikes_rank_871200_first_with_its_path(small_kb: Settings) -> None:
    found = lookup_tariff("mountain bikes with aluminium frames", top_k=5, settings=small_kb)
    assert [c.code for c in found][:1] == ["871200"]
    best = found[0]
    assert best.level == 6 and best.source == "hs2022"
    assert best.path_text == (
        "87 Vehicles; other than railway or tramway rolling stock, and parts and accessories "
        "thereof > 8712 Bicycles and other cycles; including delivery tricycles, not motorised "
        "> 871200 Bicycles and other cycles; including delivery tricycles, not motorised"
    )
    assert all(c.level == 6 for c in found)
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


def test_german_description_finds_the_code_through_cn_titles(small_kb: Settings) -> None:
    found = lookup_tariff("Fahrräder mit Aluminiumrahmen", origin="tw", settings=small_kb)
    assert "871200" in [c.code for c in found[:3]]
    assert found[0].origin == "TW"


def test_subheading_titled_other_is_found_by_its_heading(small_kb: Settings) -> None:
    # 871499 is "... other" under heading 8714 (parts and accessories of cycles)
    found = lookup_tariff("bicycle handlebars and saddles", top_k=10, settings=small_kb)
    assert any(c.code.startswith("8714") for c in found[:3])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"description": ""}, "at least 1 character"),
        ({"description": "x" * 2001}, "at most 2000 characters"),
        ({"description": "bikes", "origin": "Taiwan"}, "ISO 3166 alpha-2"),
        ({"description": "bikes", "top_k": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_arguments_are_refused(args: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        LookupTariffArgs.model_validate(args)


def test_hs_code_exists_at_its_level_without_an_embedder(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)  # no index at all
    assert hs_code_exists("871200", settings=settings)
    assert hs_code_exists("8712.00", settings=settings)
    assert hs_code_exists("8712", settings=settings)
    assert hs_code_exists("87", settings=settings)
    assert hs_code_exists("87120030", settings=settings)  # EU CN 2026
    assert not hs_code_exists("871201", settings=settings)
    assert not hs_code_exists("999999", settings=settings)  # not a classification
    assert not hs_code_exists("87129999", settings=settings)
    assert not hs_code_exists("87A200", settings=settings)
    assert not hs_code_exists("871", settings=settings)
    assert not (tmp_path / "qdrant").exists()


def test_kb_lookup_batch_gives_the_agents_ranking(
    small_kb: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from app.cli import app
    from core.settings import get_settings

    batch = tmp_path / "queries.jsonl"
    queries = {
        "a": "mountain bikes with aluminium frames",
        "b": "Item 7 | 40 PCS | bicycle saddles",
    }
    batch.write_text(
        "\n".join(json.dumps({"id": k, "query": v}) for k, v in queries.items()) + "\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SHIPDOC_VAR_DIR", str(small_kb.var_dir))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["kb", "lookup", "--batch", str(batch), "--top", "3"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    for line in lines:
        want = lookup_tariff(queries[line["id"]], top_k=3, settings=small_kb)
        assert [c["code"] for c in line["candidates"]] == [c.code for c in want]
        assert set(line["candidates"][0]) == {"code", "title", "score", "level"}
        assert line["verdict"] in ("confident", "unsure")
    assert lines[0]["candidates"][0]["code"] == "871200"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json\n", "line 1: not JSON"),
        ('{"id": 1}\n', "line 1: expected"),
        ('{"id": 1, "query": "  "}\n', "the query is empty"),
    ],
)
def test_kb_lookup_batch_refuses_bad_lines(tmp_path: Path, content: str, message: str) -> None:
    from typer.testing import CliRunner

    from app.cli import app

    batch = tmp_path / "bad.jsonl"
    batch.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["kb", "lookup", "--batch", str(batch)])
    assert result.exit_code != 0
    assert message in str(result.exception) + result.output


def test_invoice_noise_is_stripped_before_the_lookup() -> None:
    from kb.query import clean

    line = "Pos 30: 20,000 pcs hex head bolt M12x60 gr 8.8 with nut | USD 0.12/pc | PO 4500123"
    assert clean(line) == "hex head bolt M12x60 gr 8.8 with nut"
    assert clean("Art.-Nr. 4711 Polsterstuhl mit Holzgestell, 48 Stk") == (
        "Polsterstuhl mit Holzgestell"
    )
    assert clean("Tesla Model 3 electric cars") == "Tesla Model 3 electric cars"
    assert clean("1,200 PCS") == "1,200 PCS"  # nothing but noise: keep the text


@pytest.mark.parametrize(("confident", "verdict"), [(True, "confident"), (False, "unsure")])
def test_the_agents_tool_says_unsure_with_the_candidates(confident: bool, verdict: str) -> None:
    from types import SimpleNamespace

    from agent.tools import LookupTariffArgs as AgentArgs
    from agent.tools import TariffOption, _lookup_tariff

    class Tariff:
        def exists(self, code: str) -> bool:
            return True

        def lookup(self, description: str, origin: str | None, top_k: int) -> list[TariffOption]:
            return [
                TariffOption(code=c, title=c, score=0.5, confident=confident)
                for c in ("392690", "392490")
            ]

    ctx = SimpleNamespace(tariff=Tariff())
    out = _lookup_tariff(ctx, AgentArgs(description="plastic parts"))  # type: ignore[arg-type]
    assert out["verdict"] == verdict
    assert [c["code"] for c in out["candidates"]] == ["392690", "392490"]
    assert bool(out["note"]) is (verdict == "unsure")


def test_a_close_ranking_is_unsure() -> None:
    from kb.lookup import CONFIDENT_MARGIN, verdict

    assert verdict([1.9, 1.9 - CONFIDENT_MARGIN / 2]) == "unsure"
    assert verdict([1.9, 1.9 - 2 * CONFIDENT_MARGIN]) == "confident"
    assert verdict([]) == "unsure"


def test_the_ranking_maps_a_re_read_collection_by_its_own_codes(settings: Settings) -> None:
    """A collection read again (after an ingest) is a new list of codes: its slots are its
    own, even when the old list is gone and the new one took its id."""
    from kb.lookup import Space

    sp = Space(settings)
    old = ["871200", "610910", "090111"]
    assert sp.rows("cn", old, 6).tolist() == [sp.pos[c] for c in old]
    del old
    new = ["940161", "392321", "850760"]
    assert sp.rows("cn", new, 6).tolist() == [sp.pos[c] for c in new]


@pytest.mark.parametrize("local_index", ["matrix", "qdrant"])
def test_without_the_cn_collection_both_paths_rank_on_hs_alone(
    tmp_path: Path, local_index: str
) -> None:
    """The in-process path and the query path (a Qdrant server) answer alike without CN."""
    settings = Settings(var_dir=tmp_path, kb=KbSettings(local_index=local_index))  # type: ignore[arg-type]
    hs = [c for c in ingest.load_chunks(settings, "hs2022") if str(c.payload["code"])[:2] == "87"]
    ingest.ingest(settings, "hs2022", chunks=hs, use_snapshot=False)
    try:
        found = lookup_tariff("mountain bike", settings=settings, top_k=3)
    finally:
        index.close_local_clients()
    assert found[0].code == "871200"
