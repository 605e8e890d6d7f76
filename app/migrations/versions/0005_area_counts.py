"""Counts per région and département (`organisation_area`) and an index on citycode.

The table is filled by `aggregates.ensure` when the schema is brought up to date (an
existing database has structures and no area counts yet).

Revision ID: 0005_area_counts
Revises: 0004_ess_record
Create Date: 2026-12-01 20:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005_area_counts"
down_revision: str | None = "0004_ess_record"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The area counts table and the citycode index."""
    op.create_table(
        "organisation_area",
        sa.Column("dimension", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("departement", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "value", "region", "departement"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_organisation_citycode", "organisation", ["citycode"], unique=False,
                    if_not_exists=True)


def downgrade() -> None:
    """Undo: no area counts, no citycode index."""
    op.drop_index("ix_organisation_citycode", table_name="organisation")
    op.drop_table("organisation_area")
