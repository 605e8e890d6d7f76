"""SQLModel tables and their API shapes.

Families, as in the full-stack FastAPI template: `OrganisationFields` (public
columns), the `Organisation` table, `OrganisationCreate` (input, validated),
`OrganisationUpdate` and `OrganisationPublic` (what public endpoints return: it
has no private field, so a contact person or an internal note cannot leak).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from annotated_types import MaxLen
from pydantic import field_validator, model_validator
from pydantic.fields import FieldInfo
from sqlalchemy import BigInteger, Index, Integer, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app import nomenclatures, validation
from app.taxonomy import LegalForm

ACTIVE, CLOSED = "active", "closed"
STATUSES = (ACTIVE, CLOSED)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class OrganisationFields(SQLModel):
    """Public descriptive fields, shared by every shape."""

    name: str = Field(min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=5000)
    legal_form: LegalForm | None = None
    legal_status: str | None = Field(default=None, max_length=120)
    categorie_juridique: str | None = Field(
        default=None, max_length=4, description="INSEE catégorie juridique (4 digits)")
    siren: str | None = Field(default=None, max_length=9, index=True)
    siret: str | None = Field(default=None, max_length=14)
    rna: str | None = Field(default=None, max_length=10, index=True,
                            description="RNA number of an association (W and 9 characters)")
    naf: str | None = Field(default=None, max_length=6,
                            description="APE code, a NAF rév. 2 sub-class (88.99B)")
    headcount_band: str | None = Field(
        default=None, max_length=2, description="INSEE tranche d'effectif code (NN, 00 … 53)")
    creation_date: date | None = None
    esus: bool | None = Field(default=None, description="Holds the ESUS agrément")
    esus_date: date | None = Field(default=None, description="Date of the ESUS agrément")
    labels: str = Field(default="", max_length=500)
    status: str = Field(default=ACTIVE, max_length=6, index=True,
                        description="active or closed")
    status_date: date | None = Field(default=None, description="When it closed")
    street: str | None = Field(default=None, max_length=300,
                               description="The address as displayed (number and street)")
    street_number: str | None = Field(default=None, max_length=10)
    street_repetition: str | None = Field(default=None, max_length=10,
                                          description="bis, ter… (B, T…)")
    street_type: str | None = Field(default=None, max_length=40, description="rue, avenue…")
    street_name: str | None = Field(default=None, max_length=200)
    address_complement: str | None = Field(default=None, max_length=300)
    postcode: str | None = Field(default=None, max_length=10)
    city: str | None = Field(default=None, max_length=150)
    country: str = Field(default="FR", max_length=2)
    website: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    source: str | None = Field(default=None, max_length=200)
    source_id: str | None = Field(default=None, max_length=200)


class PrivateFields(SQLModel):
    """Fields only maintainers see: never in a public response or export."""

    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=40)
    internal_notes: str | None = Field(default=None, max_length=5000)


class PlaceFields(SQLModel):
    """Where a structure is, and how we know."""

    # Indexed: the basemap asks which communes of a box have structures, one seek each.
    citycode: str | None = Field(default=None, max_length=5, index=True)
    departement: str | None = Field(default=None, max_length=3, index=True)
    region: str | None = Field(default=None, max_length=3, index=True)
    epci: str | None = Field(default=None, max_length=9, index=True,
                             description="SIREN of the EPCI of the commune")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    geocode_precision: str | None = Field(default=None, max_length=20)
    geocode_source: str | None = Field(default=None, max_length=40)


class Organisation(OrganisationFields, PrivateFields, PlaceFields, table=True):
    """One ESS structure, as stored."""

    __tablename__ = "organisation"
    __table_args__ = (Index("ix_organisation_lat_lon", "lat", "lon"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=400, unique=True)
    categories: str = Field(default="", max_length=1000)
    search_text: str = Field(default="")
    content_hash: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utc_now)
    # Indexed: `updated_since=` and the data version read it from the index alone.
    updated_at: datetime = Field(default_factory=utc_now, index=True)

    def category_list(self) -> list[str]:
        """The sector slugs, most relevant first."""
        return split_list(self.categories)


def split_list(stored: str) -> list[str]:
    """A list stored as one |-joined string (sectors, labels), back as a list."""
    return [item for item in stored.split("|") if item]


class OrganisationCategory(SQLModel, table=True):
    """Which sectors a structure belongs to (for indexed filtering)."""

    __tablename__ = "organisation_category"
    # A sector's members in id order, without the table: pages of one sector stop early.
    __table_args__ = (Index("ix_organisation_category_category_organisation",
                            "category", "organisation_id"),)

    organisation_id: int = Field(
        foreign_key="organisation.id", primary_key=True, ondelete="CASCADE"
    )
    category: str = Field(primary_key=True, max_length=60)


class Suppression(SQLModel, table=True):
    """A record key a maintainer deleted: re-imports must not bring it back."""

    __tablename__ = "suppression"

    key: str = Field(primary_key=True, max_length=400)
    name: str = Field(default="", max_length=300)
    deleted_at: datetime = Field(default_factory=utc_now)


class DeletionReason(StrEnum):
    """Why a structure left the directory."""

    DELETED = "deleted"
    MERGED = "merged"


class Deletion(SQLModel, table=True):
    """A structure that left the directory (deleted, or merged into another): a mirror's feed."""

    __tablename__ = "deletion"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int
    reason: DeletionReason = Field(max_length=20)
    merged_into: int | None = None
    deleted_at: datetime = Field(default_factory=utc_now, index=True)


class ValidatedFields(OrganisationFields):
    """Input validation of the public fields (identifiers, URLs, emails)."""

    # "before": people write "732 829 320 00074", longer than the stored 14 digits.
    @field_validator("siren", mode="before")
    @classmethod
    def _siren(cls, value: object) -> str | None:
        return validation.clean_siren(str(value)) if value not in (None, "") else None

    @field_validator("siret", mode="before")
    @classmethod
    def _siret(cls, value: object) -> str | None:
        return validation.clean_siret(str(value)) if value not in (None, "") else None

    @field_validator("website")
    @classmethod
    def _website(cls, value: str | None) -> str | None:
        return validation.clean_url(value) if value else None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return validation.clean_email(value) if value else None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return validation.clean_phone(value) if value else None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        return validation.clean_country(value)

    @field_validator("naf")
    @classmethod
    def _naf(cls, value: str | None) -> str | None:
        return nomenclatures.clean_naf(value) if value else None

    @field_validator("categorie_juridique")
    @classmethod
    def _categorie_juridique(cls, value: str | None) -> str | None:
        return nomenclatures.clean_legal_category(value) if value else None

    @field_validator("headcount_band")
    @classmethod
    def _headcount_band(cls, value: str | None) -> str | None:
        return nomenclatures.clean_headcount_band(value) if value else None

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        return validation.clean_status(value)

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        return validation.clean_postcode(value) if value else None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        stripped = " ".join(value.split())
        if not stripped:
            raise ValueError("name is required")
        return stripped

    @model_validator(mode="after")
    def _siret_matches_siren(self) -> ValidatedFields:
        if self.siren and self.siret and not self.siret.startswith(self.siren):
            raise ValueError(f"SIRET {self.siret} does not start with SIREN {self.siren}")
        return self

    @model_validator(mode="after")
    def _family_from_category(self) -> ValidatedFields:
        """The ESS family follows from the catégorie juridique unless it was given."""
        if self.legal_form is None and self.categorie_juridique:
            self.legal_form = nomenclatures.family_of_category(self.categorie_juridique)
        return self


class OrganisationCreate(ValidatedFields, PrivateFields):
    """A structure to store: coordinates are optional (geocoded when missing)."""

    categories: list[str] = Field(min_length=1)
    labels: list[str] = Field(default_factory=list,  # type: ignore[assignment]
                              description="Slugs of app/data/labels.yaml")
    # Indexed: the basemap asks which communes of a box have structures, one seek each.
    citycode: str | None = Field(default=None, max_length=5, index=True)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    geocode_precision: str | None = None
    geocode_source: str | None = None

    @field_validator("contact_email")
    @classmethod
    def _contact_email(cls, value: str | None) -> str | None:
        return validation.clean_email(value) if value else None

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        return nomenclatures.clean_labels("|".join(value)).split("|") if value else []

    def record_values(self) -> dict[str, object]:
        """The fields in their stored form (labels joined by |)."""
        return {**self.model_dump(), "labels": "|".join(self.labels)}

    @model_validator(mode="after")
    def _both_coordinates_or_none(self) -> OrganisationCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together: give both or neither")
        return self


class OrganisationProperties(OrganisationFields):
    """The properties of a structure's public GeoJSON Feature: all but its id and position."""

    categories: list[str]
    labels: list[str]  # type: ignore[assignment]
    citycode: str | None
    departement: str | None
    region: str | None
    epci: str | None
    geocode_precision: str | None
    geocode_source: str | None
    created_at: datetime
    updated_at: datetime


class OrganisationPublic(OrganisationProperties):
    """What public endpoints return."""

    id: int
    lat: float
    lon: float

    @classmethod
    def from_row(cls, row: Organisation) -> OrganisationPublic:
        """Project a stored row to its public shape (private fields dropped)."""
        data = row.model_dump(include=set(cls.model_fields) - {"categories", "labels"})
        return cls(categories=row.category_list(), labels=split_list(row.labels), **data)


# The columns public reads select: exactly the fields of OrganisationPublic, so a private
# column cannot even leave the database on a public path.
PUBLIC_COLUMNS: tuple[str, ...] = tuple(OrganisationPublic.model_fields)


def _max_length(field: FieldInfo) -> int | None:
    """The `max_length` a field was declared with, if any."""
    return next((rule.max_length for rule in field.metadata if isinstance(rule, MaxLen)), None)


# The one record schema the importer and the writer read: the descriptive columns in stored
# order (public fields, then private ones) and the size of each text column.
RECORD_COLUMNS: tuple[str, ...] = (*OrganisationFields.model_fields, *PrivateFields.model_fields)
# The values a stored record has when its input says nothing (NOT NULL columns).
RECORD_DEFAULTS: dict[str, object] = {
    name: field.default
    for model in (OrganisationFields, PrivateFields)
    for name, field in model.model_fields.items()
    if field.default is not None and not field.is_required()
}
MAX_LENGTHS: dict[str, int] = {
    name: limit
    for model in (OrganisationFields, PrivateFields)
    for name, field in model.model_fields.items()
    if (limit := _max_length(field)) is not None
}


# --- Imports: the run log, the one-import-at-a-time lock, the duplicate review queue ---


class ImportLock(SQLModel, table=True):
    """The single row that says an import is writing (see app/importer/lock.py)."""

    __tablename__ = "import_lock"

    id: int = Field(default=1, primary_key=True)
    run_id: str = Field(max_length=32)
    pid: int
    hostname: str = Field(max_length=255)
    acquired_at: datetime = Field(default_factory=utc_now)
    heartbeat_at: datetime = Field(default_factory=utc_now)


class ImportRun(SQLModel, table=True):
    """One import: its progress while it runs, then its report and rejected rows."""

    __tablename__ = "import_run"

    id: str = Field(primary_key=True, max_length=32)
    origin: str = Field(max_length=20)
    mode: str = Field(max_length=20)
    status: str = Field(max_length=20, index=True)
    files: str = Field(default="[]")
    rows_expected: int = 0
    rows_processed: int = 0
    rows_committed: int = 0
    batches_committed: int = 0
    started_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None
    message: str | None = Field(default=None, max_length=2000)
    report: str | None = None
    rejected_csv: str | None = None


class DuplicateCandidate(SQLModel, table=True):
    """Two stored structures that may be the same one, waiting for a maintainer's decision."""

    __tablename__ = "duplicate_candidate"
    __table_args__ = (UniqueConstraint("first_id", "second_id"),)

    id: int | None = Field(default=None, primary_key=True)
    first_id: int = Field(foreign_key="organisation.id", ondelete="CASCADE", index=True)
    second_id: int = Field(foreign_key="organisation.id", ondelete="CASCADE", index=True)
    rule: str = Field(max_length=40)
    distance_m: float | None = None
    status: str = Field(default="pending", max_length=20, index=True)
    created_at: datetime = Field(default_factory=utc_now)
    decided_at: datetime | None = None


class DuplicateCheckPending(SQLModel, table=True):
    """A structure an import updated whose duplicate check has not run yet.

    Inserted structures need no mark: their ids are above `DuplicateCheckState`.
    """

    __tablename__ = "duplicate_check_pending"

    organisation_id: int = Field(
        foreign_key="organisation.id", primary_key=True, ondelete="CASCADE"
    )


class DuplicateName(SQLModel, table=True):
    """The name keys of a checked structure, filed so the duplicate check is index-driven.

    `head` and `tail` are the first and last four letters of the name's skeleton; `band`
    is the latitude band the structure lies in (`duplicates.lat_band`), so that the same
    name is looked up only where it could be nearby. A structure that has a row here has
    been through the duplicate check.
    """

    __tablename__ = "duplicate_name"
    __table_args__ = (
        Index("ix_duplicate_name_head", "citycode", "digits", "head", "length"),
        Index("ix_duplicate_name_tail", "citycode", "digits", "tail", "length"),
        Index("ix_duplicate_name_length", "citycode", "digits", "length"),
        Index("ix_duplicate_name_name_band", "name_key", "band"),
    )

    organisation_id: int = Field(
        foreign_key="organisation.id", primary_key=True, ondelete="CASCADE"
    )
    name_key: str
    skeleton: str
    citycode: str = ""
    digits: str = ""
    length: int = 0
    head: str = ""
    tail: str = ""
    band: int = 0


class DuplicateCheckState(SQLModel, table=True):
    """How far the duplicate check has gone: every structure up to this id was checked."""

    __tablename__ = "duplicate_check_state"

    id: int = Field(default=1, primary_key=True)
    checked_through: int = 0


# --- Pre-aggregated counts for clusters, view counts and facets (see app/aggregates.py) ---


# Sums over a million structures pass 2**31: 64 bits (SQLite's INTEGER always is).
CELL_SUM = BigInteger().with_variant(Integer(), "sqlite")


class OrganisationCell(SQLModel, table=True):
    """How many structures of one kind lie in one Web-Mercator grid cell of one level.

    A kind is a value of one dimension: `all` (value ''), `sector` (a slug), `legal_form`
    (the stored enum name, '' when unknown), `sector_form` ("slug|LEGAL_FORM") or
    `categories` (the exact stored string, for unions of sectors). Sums are exact integers
    (ids and micro-degrees), so adding and subtracting rows never drifts. The bounds only
    grow: they contain every member, and are tight again once the row is rebuilt.
    """

    __tablename__ = "organisation_cell"
    __table_args__ = (
        # Covering, so that a wide strip a few rows high is read row by row, not through
        # the primary key's whole band of columns.
        Index("ix_organisation_cell_by_row", "level", "dimension", "cy", "cx", "value", "n",
              "sum_id", "sum_lat_e6", "sum_lon_e6", "min_lat", "min_lon", "max_lat", "max_lon"),
        Index("ix_organisation_cell_empty", "n", sqlite_where=text("n = 0"),
              postgresql_where=text("n = 0")),
        {"sqlite_with_rowid": False},
    )

    level: int = Field(primary_key=True)
    dimension: str = Field(primary_key=True, max_length=12)
    cx: int = Field(primary_key=True)
    cy: int = Field(primary_key=True)
    value: str = Field(primary_key=True, max_length=1000)
    n: int = Field(sa_type=CELL_SUM)
    sum_id: int = Field(sa_type=CELL_SUM)
    sum_lat_e6: int = Field(sa_type=CELL_SUM)
    sum_lon_e6: int = Field(sa_type=CELL_SUM)
    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float


class CategorySet(SQLModel, table=True):
    """Which sectors a stored `categories` string holds (one row per string and sector)."""

    __tablename__ = "category_set"

    categories: str = Field(primary_key=True, max_length=1000)
    category: str = Field(primary_key=True, max_length=60)


class OrganisationArea(SQLModel, table=True):
    """How many active structures of one kind lie in one (région, département) pair.

    Kinds are those of `OrganisationCell` (dimension and value); '' stands for a structure
    with no région or département. Kept in step by app/area_counts.py, so counts per
    région or département read a few hundred rows, never the organisation table.
    """

    __tablename__ = "organisation_area"
    __table_args__ = ({"sqlite_with_rowid": False},)

    dimension: str = Field(primary_key=True, max_length=12)
    value: str = Field(primary_key=True, max_length=1000)
    region: str = Field(primary_key=True, max_length=3)
    departement: str = Field(primary_key=True, max_length=3)
    n: int


class CountCache(SQLModel, table=True):
    """An exact count that is slow to make, kept with the data version it was made at.

    `key` names what was counted (a digest of the filters); the row is stale, and ignored,
    as soon as the data version moves. Rows of older versions are removed as new ones come.
    """

    __tablename__ = "count_cache"

    key: str = Field(primary_key=True, max_length=40)
    version: str = Field(max_length=40)
    n: int
