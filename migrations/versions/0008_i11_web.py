"""web app: browser sessions, a record version for review saves, dashboard indexes

Revision ID: 0008_i11
Revises: 0007_i10
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_i11"
down_revision: str | None = "0007_i10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_web_sessions_token_sha256"), ["token_sha256"], unique=True
        )
        batch_op.create_index(batch_op.f("ix_web_sessions_api_key_id"), ["api_key_id"])

    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_index("ix_records_created_at", ["created_at"])
        batch_op.create_index("ix_records_status_created_at", ["status", "created_at"])
        batch_op.create_index("ix_records_doc_type_created_at", ["doc_type", "created_at"])
    with op.batch_alter_table("agent_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_runs_started_at"), ["started_at"])
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_finished_at"), ["finished_at"])


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_finished_at"))
    with op.batch_alter_table("agent_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_runs_started_at"))
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_doc_type_created_at")
        batch_op.drop_index("ix_records_status_created_at")
        batch_op.drop_index("ix_records_created_at")
        batch_op.drop_column("version")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_api_key_id"))
        batch_op.drop_index(batch_op.f("ix_web_sessions_token_sha256"))
    op.drop_table("web_sessions")
