"""Every write: upsert by stable key (one record or a batch), delete into the suppression list."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, func, insert, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel, col, delete, select

from app.models import (
    Organisation,
    OrganisationCategory,
    OrganisationCreate,
    Suppression,
    utc_now,
)
from geocode.normalize import fold


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a SQLModel table class (for bulk statements)."""
    return SQLModel.metadata.tables[str(model.__tablename__)]


ORGANISATION_TABLE = table_of(Organisation)
CATEGORY_TABLE = table_of(OrganisationCategory)
# The descriptive columns a record carries (its place and bookkeeping come on top).
RECORD_COLUMNS = (
    "name", "description", "legal_form", "legal_status", "siren", "siret", "rna", "street",
    "postcode", "city", "country", "website", "email", "phone", "source", "source_id",
    "contact_name", "contact_email", "contact_phone", "internal_notes",
)
# SQLite accepts 32766 bound parameters per statement; stay far below.
_KEYS_PER_QUERY = 900
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
T = TypeVar("T")


class UpsertOutcome(StrEnum):
    """What an upsert did to the database."""

    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Placement:
    """A resolved location: point, administrative codes, and how it was found."""

    lat: float
    lon: float
    citycode: str | None
    departement: str | None
    region: str | None
    precision: str | None
    source: str | None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record ready to write: its key, column values, sectors and content digest."""

    key: str
    values: dict[str, Any]
    categories: tuple[str, ...]
    digest: str


@dataclass(frozen=True)
class BatchWrite:
    """What writing (or classifying) a batch did: one outcome per record, changed ids."""

    outcomes: list[UpsertOutcome]
    changed_ids: list[int]


def normalise_name(text: str) -> str:
    """A name's comparison key: no accents, case or punctuation ("L'Atelier" -> "l atelier")."""
    return " ".join(_NOT_ALPHANUMERIC.sub(" ", fold(text)).split())


def key_for(values: Mapping[str, Any], citycode: str | None) -> str:
    """The stable identity of a record: SIRET, else source + its id, else name + commune."""
    siret, source, source_id = values.get("siret"), values.get("source"), values.get("source_id")
    if siret:
        return f"siret:{siret}"
    if source and source_id:
        return f"source:{fold(source)}:{source_id.strip()}"
    place = citycode or normalise_name(f"{values.get('postcode') or ''} {values.get('city') or ''}")
    return f"name:{normalise_name(values['name'])}@{place}"


def record_key(record: OrganisationCreate, citycode: str | None) -> str:
    """The stable identity of an API record (same rule as `key_for`)."""
    return key_for(record.model_dump(include={"siret", "source", "source_id", "name",
                                              "postcode", "city"}), citycode)


def organisation_values(
    fields: Mapping[str, Any], categories: Sequence[str], place: Placement
) -> dict[str, Any]:
    """The column values of a record placed at `place` (what the content digest covers)."""
    values = {name: fields.get(name) for name in RECORD_COLUMNS}
    values["country"] = values["country"] or "FR"
    text = " ".join(filter(None, (values["name"], values["description"], values["city"])))
    values.update(
        categories="|".join(dict.fromkeys(categories)),
        lat=round(place.lat, 7),
        lon=round(place.lon, 7),
        citycode=place.citycode,
        departement=place.departement,
        region=place.region,
        geocode_precision=place.precision,
        geocode_source=place.source,
        search_text=fold(text),
    )
    return values


def content_hash(values: Mapping[str, object]) -> str:
    """A digest of the stored values, to tell a real change from a re-import."""
    canonical = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def stored_record(key: str, values: dict[str, Any], categories: Sequence[str]) -> StoredRecord:
    """Bundle a record's key, values and sectors with its content digest."""
    return StoredRecord(key, values, tuple(dict.fromkeys(categories)), content_hash(values))


def is_suppressed(*, session: Session, key: str) -> bool:
    """True when a maintainer deleted the record with this key."""
    return session.get(Suppression, key) is not None


def _replace_categories(session: Session, organisation_id: int, slugs: Sequence[str]) -> None:
    """Make the category links of a structure exactly `slugs`."""
    session.exec(
        delete(OrganisationCategory).where(
            col(OrganisationCategory.organisation_id) == organisation_id
        )
    )
    for slug in dict.fromkeys(slugs):
        session.add(OrganisationCategory(organisation_id=organisation_id, category=slug))


def upsert_organisation(
    *, session: Session, record: OrganisationCreate, place: Placement, key: str | None = None
) -> tuple[UpsertOutcome, Organisation | None]:
    """Insert or update the structure with this key; never revive a suppressed one."""
    key = key or record_key(record, place.citycode)
    if is_suppressed(session=session, key=key):
        return UpsertOutcome.SUPPRESSED, None
    values = organisation_values(record.model_dump(), record.categories, place)
    digest = content_hash(values)
    existing = session.exec(select(Organisation).where(Organisation.key == key)).first()
    if existing is not None and existing.content_hash == digest:
        return UpsertOutcome.UNCHANGED, existing
    row = existing or Organisation(key=key, lat=place.lat, lon=place.lon, name=record.name)
    for column, value in values.items():
        setattr(row, column, value)
    row.content_hash = digest
    row.updated_at = utc_now()
    session.add(row)
    session.flush()
    assert row.id is not None  # noqa: S101  (flush assigns it)
    _replace_categories(session, row.id, record.categories)
    return (UpsertOutcome.UPDATED if existing else UpsertOutcome.INSERTED), row


def _chunks(items: Sequence[T]) -> Iterable[list[T]]:
    """Slices small enough for one IN (...) list."""
    for start in range(0, len(items), _KEYS_PER_QUERY):
        yield list(items[start : start + _KEYS_PER_QUERY])


def stored_digests(*, session: Session, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Key -> (id, content digest) of the stored records among `keys`."""
    table, found = ORGANISATION_TABLE, {}
    query = select(table.c.key, table.c.id, table.c.content_hash).where(
        table.c.key.in_(bindparam("keys", expanding=True)))
    for chunk in _chunks(keys):
        for key, row_id, digest in session.connection().execute(query, {"keys": chunk}):
            found[key] = (row_id, digest)
    return found


def suppressed_keys(*, session: Session, keys: Sequence[str]) -> set[str]:
    """The keys among `keys` that a maintainer deleted."""
    table = table_of(Suppression)
    query = select(table.c.key).where(table.c.key.in_(bindparam("keys", expanding=True)))
    connection = session.connection()
    return {key for chunk in _chunks(keys) for (key,) in connection.execute(query, {"keys": chunk})}


def _classified(
    session: Session, records: Sequence[StoredRecord]
) -> list[tuple[UpsertOutcome, int | None]]:
    """(outcome, stored id) of each record given what is stored under its key."""
    keys = [record.key for record in records]
    stored = stored_digests(session=session, keys=keys)
    suppressed = suppressed_keys(session=session, keys=keys)
    classified: list[tuple[UpsertOutcome, int | None]] = []
    for record in records:
        row_id, digest = stored.get(record.key, (None, None))
        if record.key in suppressed:
            classified.append((UpsertOutcome.SUPPRESSED, None))
        elif row_id is None:
            classified.append((UpsertOutcome.INSERTED, None))
        else:
            same = digest == record.digest
            classified.append((UpsertOutcome.UNCHANGED if same else UpsertOutcome.UPDATED, row_id))
    return classified


def classify_batch(*, session: Session, records: Sequence[StoredRecord]) -> list[UpsertOutcome]:
    """What writing each record would do, without writing anything."""
    return [outcome for outcome, _ in _classified(session, records)]


def _insert_rows(
    session: Session, records: Sequence[StoredRecord], now: datetime
) -> list[int]:
    """Insert new records in one executemany; return their ids in order."""
    rows = [{**r.values, "key": r.key, "content_hash": r.digest, "created_at": now,
             "updated_at": now} for r in records]
    session.connection().execute(insert(ORGANISATION_TABLE), rows)
    # One indexed lookup is cheaper than RETURNING through insertmanyvalues.
    stored = stored_digests(session=session, keys=[r.key for r in records])
    return [stored[r.key][0] for r in records]


def _update_rows(
    connection: Connection, records: Sequence[StoredRecord], ids: Sequence[int], now: datetime
) -> None:
    """Rewrite changed records in one executemany (created_at is kept)."""
    table = ORGANISATION_TABLE
    columns = [*records[0].values, "content_hash", "updated_at"]
    statement = update(table).where(table.c.id == bindparam("row_id")).values(
        {name: bindparam(f"new_{name}") for name in columns})
    rows = [
        {**{f"new_{k}": v for k, v in r.values.items()}, "new_content_hash": r.digest,
         "new_updated_at": now, "row_id": row_id}
        for r, row_id in zip(records, ids, strict=True)
    ]
    connection.execute(statement, rows)


def _link_categories(
    connection: Connection, records: Sequence[StoredRecord], ids: Sequence[int], *,
    replace: bool,
) -> None:
    """Link these structures to their records' sectors (replacing old links if asked)."""
    table = CATEGORY_TABLE
    for chunk in _chunks(ids) if replace else ():
        connection.execute(table.delete().where(table.c.organisation_id.in_(chunk)))
    links = [{"organisation_id": row_id, "category": slug}
             for record, row_id in zip(records, ids, strict=True) for slug in record.categories]
    if links:
        connection.execute(insert(table), links)


def write_batch(*, session: Session, records: Sequence[StoredRecord]) -> BatchWrite:
    """Upsert a batch with bulk statements; suppressed keys are skipped, never revived."""
    classified = _classified(session, records)
    connection, now = session.connection(), utc_now()
    new = [r for r, (o, _) in zip(records, classified, strict=True) if o is UpsertOutcome.INSERTED]
    changed = [(r, row_id) for r, (o, row_id) in zip(records, classified, strict=True)
               if o is UpsertOutcome.UPDATED and row_id is not None]
    new_ids = _insert_rows(session, new, now) if new else []
    changed_ids = [row_id for _, row_id in changed]
    if changed:
        _update_rows(connection, [r for r, _ in changed], changed_ids, now)
    _link_categories(connection, new, new_ids, replace=False)
    _link_categories(connection, [r for r, _ in changed], changed_ids, replace=True)
    return BatchWrite([outcome for outcome, _ in classified], [*new_ids, *changed_ids])


def delete_organisation(*, session: Session, organisation_id: int) -> bool:
    """Delete a structure and remember its key so re-imports skip it."""
    row = session.get(Organisation, organisation_id)
    if row is None:
        return False
    session.merge(Suppression(key=row.key, name=row.name))
    _replace_categories(session, organisation_id, [])
    session.delete(row)
    return True


def organisation_count(*, session: Session) -> int:
    """How many structures are stored."""
    return int(session.exec(select(func.count()).select_from(Organisation)).one())
