"""ESS record fields, EPCI and the address split; indexes on SIREN, RNA, status and EPCI.

The fields: NAF, catégorie juridique, ESUS (and date), labels, creation date, headcount
band, status (and date), street number, repetition, type, name and complement.

Existing structures become active with no label; their EPCI is filled from their commune.

Revision ID: 0004_ess_record
Revises: 0003_sector_member_index
Create Date: 2026-12-01 17:36:12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from app.nomenclatures import epci_of

revision: str = "0004_ess_record"
down_revision: str | None = "0003_sector_member_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """ESS record fields."""
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("epci", sqlmodel.sql.sqltypes.AutoString(length=9), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "categorie_juridique", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("naf", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True)
        )
        batch_op.add_column(
            sa.Column("headcount_band", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True)
        )
        batch_op.add_column(sa.Column("creation_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("esus", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("esus_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "labels",
                sqlmodel.sql.sqltypes.AutoString(length=500),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column(
                "status",
                sqlmodel.sql.sqltypes.AutoString(length=6),
                nullable=False,
                server_default="active",
            )
        )
        batch_op.add_column(sa.Column("status_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("street_number", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "street_repetition", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("street_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch_op.add_column(
            sa.Column("street_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "address_complement", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True
            )
        )
        batch_op.create_index(batch_op.f("ix_organisation_epci"), ["epci"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisation_rna"), ["rna"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisation_siren"), ["siren"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisation_status"), ["status"], unique=False)
    _fill_epci()


def _fill_epci() -> None:
    """Each stored structure's EPCI, from its commune (data/commune_epci.csv.gz)."""
    connection = op.get_bind()
    organisation = sa.table("organisation", sa.column("citycode"), sa.column("epci"))
    citycodes = connection.execute(sa.select(organisation.c.citycode).distinct()).scalars()
    pairs = [{"code": code, "epci": epci} for code in citycodes if (epci := epci_of(code))]
    if pairs:
        statement = (
            organisation.update()
            .where(organisation.c.citycode == sa.bindparam("code"))
            .values(epci=sa.bindparam("epci"))
        )
        connection.execute(statement, pairs)


def downgrade() -> None:
    """Undo: ESS record fields."""
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_status"))
        batch_op.drop_index(batch_op.f("ix_organisation_siren"))
        batch_op.drop_index(batch_op.f("ix_organisation_rna"))
        batch_op.drop_index(batch_op.f("ix_organisation_epci"))
        batch_op.drop_column("address_complement")
        batch_op.drop_column("street_name")
        batch_op.drop_column("street_type")
        batch_op.drop_column("street_repetition")
        batch_op.drop_column("street_number")
        batch_op.drop_column("status_date")
        batch_op.drop_column("status")
        batch_op.drop_column("labels")
        batch_op.drop_column("esus_date")
        batch_op.drop_column("esus")
        batch_op.drop_column("creation_date")
        batch_op.drop_column("headcount_band")
        batch_op.drop_column("naf")
        batch_op.drop_column("categorie_juridique")
        batch_op.drop_column("epci")
