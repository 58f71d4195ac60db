"""eval_results.by_tier: nightly accuracy sliced by the routing tier of each golden file

Revision ID: 0010_i13
Revises: 0009_i11
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_i13"
down_revision: str | None = "0009_i11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("eval_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("by_tier", _JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("eval_results", schema=None) as batch_op:
        batch_op.drop_column("by_tier")
