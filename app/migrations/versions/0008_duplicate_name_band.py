"""duplicate_name.band: the same name is looked up in its latitude band, not in all France.

Revision ID: 0008_duplicate_name_band
Revises: 0007_postgis_bigint
Create Date: 2026-12-03 12:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_duplicate_name_band"
down_revision: str | None = "0007_postgis_bigint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# duplicates.lat_band at this revision: floor(lat / 0.002), bands about 222 m high.
_BAND_OF_LAT = {
    "postgresql": "floor(o.lat / CAST(0.002 AS double precision))::integer",
    "sqlite": ("CAST(o.lat / 0.002 AS INTEGER) - "
               "(o.lat / 0.002 < CAST(o.lat / 0.002 AS INTEGER))"),
}


def upgrade() -> None:
    """The band column, filled from each structure's latitude; (name_key, band) indexed."""
    band = _BAND_OF_LAT[op.get_bind().dialect.name]
    op.add_column("duplicate_name",
                  sa.Column("band", sa.Integer(), nullable=False, server_default="0"))
    op.execute(f"UPDATE duplicate_name SET band = (SELECT {band} FROM organisation AS o "  # noqa: S608
               "WHERE o.id = duplicate_name.organisation_id)")
    op.drop_index("ix_duplicate_name_name_key", table_name="duplicate_name")
    op.create_index("ix_duplicate_name_name_band", "duplicate_name", ["name_key", "band"],
                    unique=False)


def downgrade() -> None:
    """Undo: the name index alone again, no band."""
    op.drop_index("ix_duplicate_name_name_band", table_name="duplicate_name")
    op.create_index("ix_duplicate_name_name_key", "duplicate_name", ["name_key"], unique=False)
    op.drop_column("duplicate_name", "band")
