"""``shipdoc kb`` search, stats and bad input, on a small real index (Qdrant local mode)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from core.settings import Settings, get_settings
from kb import index, ingest
from kb.search import KnowledgeBase

SOURCES = Path(__file__).resolve().parent.parent / "kb" / "sources"
HEADINGS = ("8711", "8712", "8714", "6109")


@pytest.fixture(scope="module")
def built_var(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One small index for the module: four headings and one procedure."""
    var_dir = tmp_path_factory.mktemp("var")
    settings = Settings(var_dir=var_dir)
    hs = [
        c
        for c in ingest.load_chunks(settings, "hs2022")
        if str(c.payload["code"])[:4] in HEADINGS or c.payload["code"] in ("87", "61")
    ]
    ingest.ingest(settings, "hs2022", chunks=hs)
    ingest.ingest(settings, "docs", path=SOURCES / "procedure-dangerous-goods.md")
    index.close_local_clients()
    yield var_dir


@pytest.fixture
def small_kb(built_var: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings (from the environment, as the CLI reads them) pointing at that index."""
    monkeypatch.setenv("SHIPDOC_VAR_DIR", str(built_var))
    monkeypatch.setenv("SHIPDOC_ENVIRONMENT", "test")
    monkeypatch.delenv("SHIPDOC_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    index.close_local_clients()  # the next CLI run opens its own client, as a new process would
    get_settings.cache_clear()


def _run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["shipdoc", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    code = exit_info.value.code
    return int(code) if code is not None else 0


def test_search_json_lists_code_title_score_source_level(
    small_kb: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(
        monkeypatch,
        "kb",
        "search",
        "bicycles, not motorised",
        "--top",
        "3",
        "--level",
        "6",
        "--json",
    )
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3
    assert rows[0]["code"] == "871200"
    assert set(rows[0]) >= {"code", "title", "score", "source", "level"}
    assert {r["level"] for r in rows} == {6}
    assert {r["source"] for r in rows} == {"hs2022"}


def test_level_filter_and_modes(small_kb: Settings) -> None:
    kb = KnowledgeBase(small_kb)
    headings = kb.search("bicycle", level=4, top=5)
    assert headings and {h.level for h in headings} == {4}
    for mode in ("dense", "sparse", "hybrid"):
        hits = kb.search("motorcycles with an engine of 250cc", level=6, top=5, mode=mode)
        assert hits[0].code.startswith("8711"), mode


def test_docs_search_returns_citable_chunks(small_kb: Settings) -> None:
    hits = KnowledgeBase(small_kb).search_docs("which UN numbers are lithium batteries?", top=3)
    assert hits[0].file == "procedure-dangerous-goods.md"
    assert "UN3481" in hits[0].text
    assert hits[0].heading.startswith("Procedure: dangerous goods")
    assert len({h.chunk_id for h in hits}) == 3


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["kb", "search", "   "], 2, "bad_query: the query is empty"),
        (["kb", "search", "x" * 2500], 2, "2500 characters long; the limit is 2000"),
        (["kb", "search", "bikes", "--level", "5"], 2, "unknown level 5 for hs2022"),
        (["kb", "search", "bikes", "--source", "tariffs"], 2, "unknown source 'tariffs'"),
        (["kb", "search", "bikes", "--source", "cn2026"], 1, "run `shipdoc kb ingest`"),
    ],
)
def test_bad_input_gets_a_clear_message(
    small_kb: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    exit_code: int,
    message: str,
) -> None:
    assert _run(monkeypatch, *args) == exit_code
    assert message in capsys.readouterr().err


def test_stats_counts_points_per_level(
    small_kb: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, "kb", "stats") == 0
    out = capsys.readouterr().out
    assert "shipdoc_hs2022: " in out and "level 6: " in out
    assert "shipdoc_cn2026: missing" in out


def test_trade_jargon_is_rewritten_into_tariff_words_for_tariff_search(
    small_kb: Settings,
) -> None:
    from kb.rewrite import rewrite

    assert (
        rewrite("Mountain BIKES, alu frames") == "Mountain BIKES, alu frames; bicycles; aluminium"
    )
    assert rewrite("Vélos de route") == "Vélos de route; bicycles"
    assert rewrite("bikers' jackets") == "bikers' jackets"  # whole words only
    kb = KnowledgeBase(small_kb)
    raw = kb.search("mtb", level=6, top=3, rewrite=False)
    assert kb.search("mtb", level=6, top=3)[0].code == "871200"
    assert [h.code for h in raw][:1] != ["871200"]
