"""production ops: routing and fallback cost on agent runs, shadow runs, nightly eval results

Revision ID: 0006_i13
Revises: 0005_i15
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_i13"
down_revision: str | None = "0005_i15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("agent_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route_tier", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("route_features", _JSON, nullable=True))
        batch_op.add_column(
            sa.Column("fallback_requests", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("fallback_cost", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("failed_primary_cost", sa.Float(), nullable=True))

    op.create_table(
        "shadow_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("doc_type", sa.String(length=40), nullable=False),
        sa.Column("route_tier", sa.String(length=20), nullable=True),
        sa.Column("primary_model", sa.String(length=200), nullable=False),
        sa.Column("candidate_model", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("latency_s", sa.Float(), nullable=False),
        sa.Column("primary_latency_s", sa.Float(), nullable=True),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("record", _JSON, nullable=True),
        sa.Column("fields", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("shadow_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shadow_runs_document_id"), ["document_id"])
        batch_op.create_index(batch_op.f("ix_shadow_runs_created_at"), ["created_at"])

    op.create_table(
        "eval_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt_version", sa.String(length=64), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=False),
        sa.Column("f1", sa.Float(), nullable=False),
        sa.Column("by_doc_type", _JSON, nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("eval_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eval_results_created_at"), ["created_at"])


def downgrade() -> None:
    op.drop_table("eval_results")
    op.drop_table("shadow_runs")
    with op.batch_alter_table("agent_runs", schema=None) as batch_op:
        for column in (
            "failed_primary_cost",
            "fallback_cost",
            "fallback_requests",
            "route_features",
            "route_tier",
        ):
            batch_op.drop_column(column)
