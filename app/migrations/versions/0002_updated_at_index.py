"""Index organisation.updated_at: the collection's temporal extent and `updated_since` read it.

The exports branch (#10) indexes the same column under the same name; `if_not_exists`
keeps this revision harmless wherever that index is already there.

Revision ID: 0002_updated_at_index
Revises: 0001_baseline
Create Date: 2026-12-01 18:04:10
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_updated_at_index"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ix_organisation_updated_at."""
    op.create_index("ix_organisation_updated_at", "organisation", ["updated_at"],
                    unique=False, if_not_exists=True)


def downgrade() -> None:
    """Drop ix_organisation_updated_at."""
    op.drop_index("ix_organisation_updated_at", table_name="organisation", if_exists=True)
