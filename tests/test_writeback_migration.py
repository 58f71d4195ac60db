"""Migration 0002 (records, agent_runs, tool_calls) goes up and down on both databases."""

from __future__ import annotations

import sqlalchemy as sa

from core import migrate
from core.db import get_engine


def _tables(url: str) -> set[str]:
    return set(sa.inspect(get_engine(url)).get_table_names())


def test_upgrade_creates_extraction_tables_and_downgrade_removes_them(db_url: str) -> None:
    assert {"records", "agent_runs", "tool_calls"} <= _tables(db_url)
    migrate.downgrade(db_url, "0001")
    tables = _tables(db_url)
    assert not {"records", "agent_runs", "tool_calls"} & tables
    assert {"documents", "pages"} <= tables
    migrate.upgrade(db_url, "0002")
    columns = {c["name"] for c in sa.inspect(get_engine(db_url)).get_columns("records")}
    assert {"doc_type", "schema_version", "data", "status", "issues", "provenance"} <= columns
