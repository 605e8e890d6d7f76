"""Every write: upsert by stable key (one record or a batch), delete into the suppression list."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

import orjson
from sqlalchemy import Table, bindparam, func, insert, update
from sqlalchemy.engine import Connection, Dialect
from sqlmodel import Session, SQLModel, col, delete, select

from app import aggregates
from app.dialects import strategy_for
from app.models import (
    RECORD_COLUMNS,
    RECORD_DEFAULTS,
    Deletion,
    DeletionReason,
    Organisation,
    OrganisationCategory,
    OrganisationCreate,
    Suppression,
    utc_now,
)
from app.nomenclatures import epci_of
from geocode.normalize import fold


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a SQLModel table class (for bulk statements)."""
    return SQLModel.metadata.tables[str(model.__tablename__)]


ORGANISATION_TABLE = table_of(Organisation)
CATEGORY_TABLE = table_of(OrganisationCategory)
# What a record's row holds, in order: its descriptive columns, then where it is.
STORED_COLUMNS = (
    *RECORD_COLUMNS, "categories", "lat", "lon", "citycode", "departement", "region", "epci",
    "geocode_precision", "geocode_source", "search_text",
)
_LAT, _LON = STORED_COLUMNS.index("lat"), STORED_COLUMNS.index("lon")
_DEFAULTS = tuple((RECORD_COLUMNS.index(name), value) for name, value in RECORD_DEFAULTS.items())
_TIMESTAMPS = frozenset({"created_at", "updated_at"})
_INSERTED_COLUMNS = (*STORED_COLUMNS, "key", "content_hash", "created_at", "updated_at")
# SQLite accepts 32766 bound parameters per statement; stay far below.
_KEYS_PER_QUERY = 900
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
T = TypeVar("T")
_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False, default=str,
                                   separators=(",", ":"))


class UpsertOutcome(StrEnum):
    """What an upsert did to the database."""

    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SUPPRESSED = "suppressed"


class Placement(NamedTuple):
    """A resolved location: point, administrative codes, and how it was found."""

    lat: float
    lon: float
    citycode: str | None
    departement: str | None
    region: str | None
    precision: str | None
    source: str | None


class StoredRecord(NamedTuple):
    """A record ready to write: its key, its row (STORED_COLUMNS order), sectors, digest."""

    key: str
    row: tuple[Any, ...]
    categories: tuple[str, ...]
    digest: str

    @property
    def values(self) -> dict[str, Any]:
        """The row by column name."""
        return dict(zip(STORED_COLUMNS, self.row, strict=True))


@dataclass(frozen=True)
class BatchWrite:
    """What writing a batch did: one outcome per record, ids of the new and updated ones."""

    outcomes: list[UpsertOutcome]
    new_ids: list[int]
    updated_ids: list[int]
    written: dict[str, int]


def normalise_name(text: str) -> str:
    """A name's comparison key: no accents, case or punctuation ("L'Atelier" -> "l atelier")."""
    return normalise_folded_name(fold(text))


def normalise_folded_name(folded: str) -> str:
    """`normalise_name` of a name already passed through `fold`."""
    return " ".join(_NOT_ALPHANUMERIC.sub(" ", folded).split())


@lru_cache(maxsize=8192)
def _folded(text: str) -> str:
    """`fold` for the values that repeat from row to row (sources, communes)."""
    return fold(text)


def search_text(folded_name: str, description: str | None, city: str | None) -> str:
    """fold(name + description + city), from the folded name (folding is word by word)."""
    parts = (folded_name, fold(description) if description else "",
             _folded(city) if city else "")
    return " ".join(part for part in parts if part)


def key_for(values: Mapping[str, Any], citycode: str | None, name_key: str | None = None) -> str:
    """The stable identity of a record: SIRET, else RNA, else source + its id, else name + commune.

    `name_key` is `normalise_name(values["name"])` when the caller has it already.
    """
    siret, source, source_id = values.get("siret"), values.get("source"), values.get("source_id")
    if siret:
        return f"siret:{siret}"
    if rna := values.get("rna"):
        return f"rna:{rna}"
    if source and source_id:
        return f"source:{_folded(source)}:{source_id.strip()}"
    place = citycode or normalise_name(f"{values.get('postcode') or ''} {values.get('city') or ''}")
    return f"name:{name_key or normalise_name(values['name'])}@{place}"


def record_key(record: OrganisationCreate, citycode: str | None) -> str:
    """The stable identity of an API record (same rule as `key_for`)."""
    return key_for(record.model_dump(include={"siret", "rna", "source", "source_id", "name",
                                              "postcode", "city"}), citycode)


def organisation_row(
    fields: Mapping[str, Any], categories: Sequence[str], place: Placement, *,
    folded_name: str | None = None,
) -> tuple[Any, ...]:
    """The stored row (STORED_COLUMNS order) of a record placed at `place`.

    `folded_name` is `fold(fields["name"])` when the caller has it already.
    """
    descriptive = list(map(fields.get, RECORD_COLUMNS))
    for index, default in _DEFAULTS:
        if descriptive[index] is None:
            descriptive[index] = default
    if folded_name is None:
        folded_name = fold(fields.get("name") or "")
    text = search_text(folded_name, fields.get("description"), fields.get("city"))
    return (
        *descriptive, "|".join(dict.fromkeys(categories)), round(place.lat, 7),
        round(place.lon, 7), place.citycode, place.departement, place.region,
        epci_of(place.citycode), place.precision,
        place.source, text,
    )


def content_hash(row: Sequence[object]) -> str:
    """A digest of a stored row, to tell a real change from a re-import.

    It digests the row's compact JSON exactly as the standard json module writes it, so
    the digests stored by earlier versions still match. orjson writes the same bytes about
    thirty times faster, except for floats that Python writes with an exponent (5e-05: a
    point within metres of the equator or the Greenwich meridian) and text that is not
    valid Unicode: those rows go through json.
    """
    if _written_alike(row[_LAT]) and _written_alike(row[_LON]):
        with contextlib.suppress(orjson.JSONEncodeError):
            return hashlib.blake2b(orjson.dumps(row, default=str), digest_size=32).hexdigest()
    canonical = _CANONICAL_JSON.encode(list(row)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(canonical, digest_size=32).hexdigest()


def _written_alike(value: object) -> bool:
    """True when json and orjson write this value the same (floats in 1e-4 ≤ |x| < 1e16)."""
    return not isinstance(value, float) or value == 0 or 1e-4 <= abs(value) < 1e16


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
    row_values = organisation_row(record.record_values(), record.categories, place)
    digest = content_hash(row_values)
    existing = session.exec(select(Organisation).where(Organisation.key == key)).first()
    if existing is not None and existing.content_hash == digest:
        return UpsertOutcome.UNCHANGED, existing
    if existing is not None and existing.id is not None:
        aggregates.subtract(session.connection(), [existing.id])
    row = existing or Organisation(key=key, lat=place.lat, lon=place.lon, name=record.name)
    for column, value in zip(STORED_COLUMNS, row_values, strict=True):
        setattr(row, column, value)
    row.content_hash = digest
    row.updated_at = utc_now()
    session.add(row)
    session.flush()
    assert row.id is not None  # noqa: S101  (flush assigns it)
    _replace_categories(session, row.id, record.categories)
    aggregates.add(session.connection(), [row.id])
    return (UpsertOutcome.UPDATED if existing else UpsertOutcome.INSERTED), row


def _chunks(items: Sequence[T]) -> Iterable[list[T]]:
    """Slices small enough for one IN (...) list."""
    for start in range(0, len(items), _KEYS_PER_QUERY):
        yield list(items[start : start + _KEYS_PER_QUERY])


def _rows_with_keys(
    connection: Connection, table: Table, columns: Sequence[str], keys: Sequence[str]
) -> Iterator[Sequence[Any]]:
    """Rows of `table` (these columns) whose `key` is among `keys`, in slices of keys."""
    quote = connection.dialect.identifier_preparer.quote
    selected = ", ".join(map(quote, columns))
    for chunk in _chunks(keys):
        if connection.dialect.paramstyle == "qmark":
            # Only quoted identifiers of our own tables are interpolated; keys are bound.
            sql = (f"SELECT {selected} FROM {quote(table.name)} "  # noqa: S608
                   f"WHERE {quote('key')} IN ({', '.join('?' * len(chunk))})")
            yield from connection.exec_driver_sql(sql, tuple(chunk))
        else:
            query = select(*(table.c[name] for name in columns)).where(table.c.key.in_(chunk))
            yield from connection.execute(query)


def stored_digests(*, session: Session, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Key -> (id, content digest) of the stored records among `keys`."""
    rows = _rows_with_keys(session.connection(), ORGANISATION_TABLE,
                           ("key", "id", "content_hash"), keys)
    return {key: (row_id, digest) for key, row_id, digest in rows}


def suppressed_keys(*, session: Session, keys: Sequence[str]) -> set[str]:
    """The keys among `keys` that a maintainer deleted."""
    connection, table = session.connection(), table_of(Suppression)
    if connection.execute(select(table.c.key).limit(1)).first() is None:
        return set()
    return {key for (key,) in _rows_with_keys(connection, table, ("key",), keys)}


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


def bulk_insert(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
    *, ready: frozenset[str] = frozenset(),
) -> None:
    """INSERT rows (tuples in `columns` order) in one executemany of the driver.

    The column types' bind processors run as SQLAlchemy would run them, without its
    per-row bookkeeping, except on the `ready` columns whose values were processed by the
    caller. Drivers with named parameters go through SQLAlchemy.
    """
    if not rows:
        return
    dialect = connection.dialect
    if dialect.paramstyle != "qmark":
        connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    quote = dialect.identifier_preparer.quote
    # Only quoted identifiers of our own tables are interpolated; values are bound.
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) "  # noqa: S608
           f"VALUES ({', '.join('?' * len(columns))})")
    processors = [(index, process) for index, name in enumerate(columns)
                  if name not in ready and (process := _bind_processor(table, name, dialect))]
    if processors:
        rows = [_processed(row, processors) for row in rows]
    connection.exec_driver_sql(sql, list(rows))


def _bind_processor(table: Table, column: str, dialect: Dialect) -> Any:
    """What SQLAlchemy applies to a value of this column before the driver sees it."""
    return table.c[column].type.dialect_impl(dialect).bind_processor(dialect)


def _processed(row: tuple[Any, ...], processors: list[tuple[int, Any]]) -> tuple[Any, ...]:
    """A row with the bind processors of some of its columns applied."""
    values = list(row)
    for index, process in processors:
        values[index] = process(values[index])
    return tuple(values)


def _insert_rows(
    connection: Connection, records: Sequence[StoredRecord], now: datetime
) -> list[int]:
    """Insert new records in one executemany; return their ids in order."""
    table = ORGANISATION_TABLE
    before = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    with strategy_for(connection.dialect.name).bulk_indexing(connection, before):
        if connection.dialect.paramstyle == "qmark":
            process = _bind_processor(table, "created_at", connection.dialect)
            stamp = process(now) if process else now
            rows = [(*r.row, r.key, r.digest, stamp, stamp) for r in records]
            bulk_insert(connection, table, _INSERTED_COLUMNS, rows, ready=_TIMESTAMPS)
        else:
            bulk_insert(connection, table, _INSERTED_COLUMNS,
                        [(*r.row, r.key, r.digest, now, now) for r in records])
    # New rows get ids above the largest one: reading them back by id range is cheaper
    # than RETURNING through insertmanyvalues or one key lookup per row.
    new_rows = select(table.c.key, table.c.id).where(table.c.id > before)
    ids: dict[str, int] = {key: row_id for key, row_id in connection.execute(new_rows)}
    return [ids[r.key] for r in records]


def _update_rows(
    connection: Connection, records: Sequence[StoredRecord], ids: Sequence[int], now: datetime
) -> None:
    """Rewrite changed records in one executemany (created_at is kept)."""
    table = ORGANISATION_TABLE
    columns = [*STORED_COLUMNS, "content_hash", "updated_at"]
    statement = update(table).where(table.c.id == bindparam("row_id")).values(
        {name: bindparam(f"new_{name}") for name in columns})
    rows = [
        {**{f"new_{name}": value for name, value in zip(STORED_COLUMNS, r.row, strict=True)},
         "new_content_hash": r.digest, "new_updated_at": now, "row_id": row_id}
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
    bulk_insert(connection, table, ("organisation_id", "category"), [
        (row_id, slug) for record, row_id in zip(records, ids, strict=True)
        for slug in record.categories])


def write_batch(*, session: Session, records: Sequence[StoredRecord]) -> BatchWrite:
    """Upsert a batch with bulk statements; suppressed keys are skipped, never revived."""
    classified = _classified(session, records)
    connection, now = session.connection(), utc_now()
    new = [r for r, (o, _) in zip(records, classified, strict=True) if o is UpsertOutcome.INSERTED]
    changed = [(r, row_id) for r, (o, row_id) in zip(records, classified, strict=True)
               if o is UpsertOutcome.UPDATED and row_id is not None]
    new_ids = _insert_rows(connection, new, now) if new else []
    changed_ids = [row_id for _, row_id in changed]
    if changed:
        aggregates.subtract(connection, changed_ids)
        _update_rows(connection, [r for r, _ in changed], changed_ids, now)
    aggregates.add(connection, [*new_ids, *changed_ids])
    _link_categories(connection, new, new_ids, replace=False)
    _link_categories(connection, [r for r, _ in changed], changed_ids, replace=True)
    written = dict(zip([r.key for r in new], new_ids, strict=True))
    written.update((r.key, row_id) for r, row_id in changed)
    return BatchWrite([outcome for outcome, _ in classified], new_ids, changed_ids, written)


def delete_organisation(
    *, session: Session, organisation_id: int, merged_into: int | None = None
) -> bool:
    """Delete a structure, remember its key so re-imports skip it, and log it for mirrors."""
    row = session.get(Organisation, organisation_id)
    if row is None:
        return False
    session.merge(Suppression(key=row.key, name=row.name))
    reason = DeletionReason.DELETED if merged_into is None else DeletionReason.MERGED
    session.add(Deletion(organisation_id=organisation_id, reason=reason, merged_into=merged_into))
    aggregates.subtract(session.connection(), [organisation_id])
    _replace_categories(session, organisation_id, [])
    session.delete(row)
    return True


def organisation_count(*, session: Session) -> int:
    """How many structures are stored."""
    return int(session.exec(select(func.count()).select_from(Organisation)).one())
