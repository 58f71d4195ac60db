"""dashboard indexes: record pages in index order, documents by date, text search

The records' date indexes gain ``id`` (the table's tie-breaker), so a newest-first page
is read from the index instead of sorting every row; on PostgreSQL the dashboard's counts
(records by status and type, runs' requests and cost) read covering indexes only;
documents get a date index. On PostgreSQL, when pg_trgm is available, a trigram index serves the
records table's text search (``CAST(data AS VARCHAR) ILIKE '%...%'``).

Revision ID: 0009_i11
Revises: 0008_i11
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_i11"
down_revision: str | None = "0008_i11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATE_INDEXES = {
    "ix_records_created_at": ["created_at"],
    "ix_records_status_created_at": ["status", "created_at"],
    "ix_records_doc_type_created_at": ["doc_type", "created_at"],
}

INCLUDE = {
    "ix_records_created_at": ["status", "doc_type"],
    "ix_records_status_created_at": ["doc_type"],
    "ix_records_doc_type_created_at": ["status"],
}


def _has_trigrams() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    found = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).first()
    return found is not None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        for name, columns in DATE_INDEXES.items():
            batch_op.drop_index(name)
            # PostgreSQL: the type and status ride along, so the dashboard's counts over a
            # date range are read from the index alone.
            batch_op.create_index(name, [*columns, "id"], postgresql_include=INCLUDE[name])
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_created_at"), ["created_at"])
    # PostgreSQL: the run figures of the dashboard (requests, cost, fallback per document
    # over 7 days) from the index alone.
    with op.batch_alter_table("agent_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_runs_started_at")
        batch_op.create_index(
            "ix_agent_runs_started_at",
            ["started_at"],
            postgresql_include=["document_id", "requests", "cost", "fallback_requests"],
        )
    if _has_trigrams():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_records_data_trgm ON records "
            "USING gin ((CAST(data AS VARCHAR)) gin_trgm_ops)"
        )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_records_data_trgm")
    with op.batch_alter_table("agent_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_runs_started_at")
        batch_op.create_index("ix_agent_runs_started_at", ["started_at"])
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_created_at"))
    with op.batch_alter_table("records", schema=None) as batch_op:
        for name, columns in DATE_INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns)
