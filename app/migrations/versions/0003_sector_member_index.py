"""A sector's members in id order: index organisation_category (category, organisation_id).

It replaces the index on category alone: a page of one sector reads the ids in order from
the index and stops at its limit, without the table.

Revision ID: 0003_sector_member_index
Revises: 0002_deletion_feed
Create Date: 2026-12-01 18:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_sector_member_index"
down_revision: str | None = "0002_deletion_feed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index (category, organisation_id) in place of (category)."""
    # IF (NOT) EXISTS: an unversioned database stamped at the baseline may have either.
    op.create_index("ix_organisation_category_category_organisation", "organisation_category",
                    ["category", "organisation_id"], unique=False, if_not_exists=True)
    op.drop_index("ix_organisation_category_category", table_name="organisation_category",
                  if_exists=True)


def downgrade() -> None:
    """Undo: the index on category alone again."""
    op.create_index("ix_organisation_category_category", "organisation_category", ["category"],
                    unique=False)
    op.drop_index("ix_organisation_category_category_organisation",
                  table_name="organisation_category")
