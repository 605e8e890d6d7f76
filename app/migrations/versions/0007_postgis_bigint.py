"""The aggregates' counts and sums in 64 bits on PostgreSQL (SQLite's INTEGER already is).

Revision ID: 0007_postgis_bigint
Revises: 0006_count_cache
Create Date: 2026-12-01 20:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_postgis_bigint"
down_revision: str | None = "0006_count_cache"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUMS = ("n", "sum_id", "sum_lat_e6", "sum_lon_e6")


def upgrade() -> None:
    """BIGINT counts and sums in organisation_cell (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _SUMS:
        op.alter_column("organisation_cell", name, type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    """Undo: 32-bit counts and sums again (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _SUMS:
        op.alter_column("organisation_cell", name, type_=sa.Integer(), existing_nullable=False)
