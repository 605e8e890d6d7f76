"""The deletion feed (`deletion`) and an index on `organisation.updated_at`.

`deletion` records each structure deleted or merged, for `/api/deletions?since=`; the
index serves `updated_since=` and the data version (app/data_version.py). Both are
additions: no existing row changes, and no table is rebuilt.

Revision ID: 0002_deletion_feed
Revises: 0001_baseline
Create Date: 2026-12-01 17:50:04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002_deletion_feed"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the deletion feed and index the update times."""
    op.create_table(
        "deletion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Enum("DELETED", "MERGED", name="deletionreason"), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("deleted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deletion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deletion_deleted_at"), ["deleted_at"], unique=False)
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisation_updated_at"), ["updated_at"], unique=False
        )


def downgrade() -> None:
    """Drop the index and the deletion feed."""
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_updated_at"))
    with op.batch_alter_table("deletion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deletion_deleted_at"))
    op.drop_table("deletion")
