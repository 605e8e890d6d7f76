"""count_cache: exact counts that are slow to make (text searches), per data version.

Revision ID: 0006_count_cache
Revises: 0005_area_counts
Create Date: 2026-12-01 20:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006_count_cache"
down_revision: str | None = "0005_area_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The count cache table (empty: counts are made again on demand)."""
    op.create_table(
        "count_cache",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    """Drop the count cache."""
    op.drop_table("count_cache")
