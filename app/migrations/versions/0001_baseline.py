"""Baseline: the schema of the first release, as `SQLModel.metadata.create_all` made it.

A database made before migrations existed (no alembic_version table) whose tables match
this revision is stamped with it, not rebuilt (app/schema.py).

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-01 17:05:45
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table and index of the first release."""
    op.create_table(
        "category_set",
        sa.Column("categories", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.PrimaryKeyConstraint("categories", "category"),
    )
    op.create_table(
        "duplicate_check_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_through", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "import_lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("hostname", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("acquired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "import_run",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("files", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rows_expected", sa.Integer(), nullable=False),
        sa.Column("rows_processed", sa.Integer(), nullable=False),
        sa.Column("rows_committed", sa.Integer(), nullable=False),
        sa.Column("batches_committed", sa.Integer(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("report", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("rejected_csv", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_import_run_status"), "import_run", ["status"], unique=False)
    op.create_table(
        "organisation",
        sa.Column("citycode", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True),
        sa.Column("departement", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("geocode_precision", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("geocode_source", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("contact_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("contact_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("contact_phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("internal_notes", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column(
            "legal_form",
            sa.Enum(
                "ASSOCIATION",
                "COOPERATIVE",
                "MUTUELLE",
                "FONDATION",
                "ENTREPRISE_ESS",
                "AUTRE",
                name="legalform",
            ),
            nullable=True,
        ),
        sa.Column("legal_status", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("siren", sqlmodel.sql.sqltypes.AutoString(length=9), nullable=True),
        sa.Column("siret", sqlmodel.sql.sqltypes.AutoString(length=14), nullable=True),
        sa.Column("street", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("postcode", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("city", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=True),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("website", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("source_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("rna", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("categories", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("search_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(
        op.f("ix_organisation_departement"), "organisation", ["departement"], unique=False
    )
    op.create_index("ix_organisation_lat_lon", "organisation", ["lat", "lon"], unique=False)
    op.create_index(op.f("ix_organisation_region"), "organisation", ["region"], unique=False)
    op.create_table(
        "organisation_cell",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("dimension", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("cx", sa.Integer(), nullable=False),
        sa.Column("cy", sa.Integer(), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sum_id", sa.Integer(), nullable=False),
        sa.Column("sum_lat_e6", sa.Integer(), nullable=False),
        sa.Column("sum_lon_e6", sa.Integer(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("level", "dimension", "cx", "cy", "value"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_organisation_cell_by_row",
        "organisation_cell",
        [
            "level",
            "dimension",
            "cy",
            "cx",
            "value",
            "n",
            "sum_id",
            "sum_lat_e6",
            "sum_lon_e6",
            "min_lat",
            "min_lon",
            "max_lat",
            "max_lon",
        ],
        unique=False,
    )
    op.create_index(
        "ix_organisation_cell_empty",
        "organisation_cell",
        ["n"],
        unique=False,
        sqlite_where=sa.text("n = 0"),
        postgresql_where=sa.text("n = 0"),
    )
    op.create_table(
        "suppression",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("deleted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "duplicate_candidate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("second_id", sa.Integer(), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("first_id", "second_id"),
        sa.ForeignKeyConstraint(["first_id"], ["organisation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["second_id"], ["organisation.id"], ondelete="CASCADE"),
    )
    op.create_index(
        op.f("ix_duplicate_candidate_first_id"), "duplicate_candidate", ["first_id"], unique=False
    )
    op.create_index(
        op.f("ix_duplicate_candidate_second_id"), "duplicate_candidate", ["second_id"], unique=False
    )
    op.create_index(
        op.f("ix_duplicate_candidate_status"), "duplicate_candidate", ["status"], unique=False
    )
    op.create_table(
        "duplicate_check_pending",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organisation_id"),
    )
    op.create_table(
        "duplicate_name",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("skeleton", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("citycode", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("digits", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("head", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("tail", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organisation_id"),
    )
    op.create_index(
        "ix_duplicate_name_head",
        "duplicate_name",
        ["citycode", "digits", "head", "length"],
        unique=False,
    )
    op.create_index(
        "ix_duplicate_name_length", "duplicate_name", ["citycode", "digits", "length"], unique=False
    )
    op.create_index(
        op.f("ix_duplicate_name_name_key"), "duplicate_name", ["name_key"], unique=False
    )
    op.create_index(
        "ix_duplicate_name_tail",
        "duplicate_name",
        ["citycode", "digits", "tail", "length"],
        unique=False,
    )
    op.create_table(
        "organisation_category",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organisation_id", "category"),
    )
    op.create_index(
        op.f("ix_organisation_category_category"),
        "organisation_category",
        ["category"],
        unique=False,
    )


def downgrade() -> None:
    """Drop every table of the first release."""
    op.drop_index(op.f("ix_organisation_category_category"), table_name="organisation_category")
    op.drop_table("organisation_category")
    op.drop_index("ix_duplicate_name_tail", table_name="duplicate_name")
    op.drop_index(op.f("ix_duplicate_name_name_key"), table_name="duplicate_name")
    op.drop_index("ix_duplicate_name_length", table_name="duplicate_name")
    op.drop_index("ix_duplicate_name_head", table_name="duplicate_name")
    op.drop_table("duplicate_name")
    op.drop_table("duplicate_check_pending")
    op.drop_index(op.f("ix_duplicate_candidate_status"), table_name="duplicate_candidate")
    op.drop_index(op.f("ix_duplicate_candidate_second_id"), table_name="duplicate_candidate")
    op.drop_index(op.f("ix_duplicate_candidate_first_id"), table_name="duplicate_candidate")
    op.drop_table("duplicate_candidate")
    op.drop_table("suppression")
    op.drop_index(
        "ix_organisation_cell_empty",
        table_name="organisation_cell",
        sqlite_where=sa.text("n = 0"),
        postgresql_where=sa.text("n = 0"),
    )
    op.drop_index("ix_organisation_cell_by_row", table_name="organisation_cell")
    op.drop_table("organisation_cell")
    op.drop_index(op.f("ix_organisation_region"), table_name="organisation")
    op.drop_index("ix_organisation_lat_lon", table_name="organisation")
    op.drop_index(op.f("ix_organisation_departement"), table_name="organisation")
    op.drop_table("organisation")
    op.drop_index(op.f("ix_import_run_status"), table_name="import_run")
    op.drop_table("import_run")
    op.drop_table("import_lock")
    op.drop_table("duplicate_check_state")
    op.drop_table("category_set")
