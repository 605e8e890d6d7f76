"""Every read query: filters, bbox, nearby, keyset paging, relevance, counts.

The SQL that differs per database (spatial and text indexes) comes from app/dialects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, and_, bindparam, func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from app.dialects import strategy_for
from app.dialects.elements import box_condition, text_match
from app.models import ACTIVE, PUBLIC_COLUMNS, STATUSES, Organisation, OrganisationCategory
from app.plain import PlainRow, plain_batch
from app.spatial import BBox as BBox
from app.spatial import Circle
from app.spatial import bbox_around as bbox_around
from app.spatial import haversine_m as haversine_m
from geocode.normalize import fold

ORGANISATION_TABLE: Table = Organisation.__table__  # type: ignore[attr-defined]
CATEGORY_TABLE: Table = OrganisationCategory.__table__  # type: ignore[attr-defined]

PublicRow = dict[str, Any]
ID_INDEX = PUBLIC_COLUMNS.index("id")
# Text search matches substrings of at least this many characters (after folding).
MIN_TEXT_LENGTH = 3


class PageOrder(StrEnum):
    """How a listing is ordered: by id (keyset-paged) or by relevance to `q`."""

    ID = "id"
    RELEVANCE = "relevance"


@dataclass(frozen=True)
class OrganisationFilter:
    """What a client may filter structures on; empty means everything."""

    categories: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    departements: tuple[str, ...] = ()
    legal_forms: tuple[str, ...] = ()
    text: str | None = None
    bbox: BBox | None = None
    # Added or changed at or after this instant (aware): what a mirror harvests.
    updated_since: datetime | None = None
    # ... and at or before this one (the end of an OGC `datetime` interval).
    updated_until: datetime | None = None
    # Active structures only, unless asked: closed ones stay behind `status=closed|all`.
    statuses: tuple[str, ...] = (ACTIVE,)
    sirens: tuple[str, ...] = ()

    @property
    def active_only(self) -> bool:
        """True when the filter keeps active structures only (what the aggregates count)."""
        return self.statuses == (ACTIVE,)


@dataclass(frozen=True)
class Page:
    """One page of a keyset-paged listing: plain rows in PUBLIC_COLUMNS order (app/plain.py)."""

    rows: Sequence[PlainRow]
    next_after: int | None


@dataclass(frozen=True)
class RankedPage:
    """The best matches of a text, and whether more matched."""

    rows: Sequence[PublicRow]
    more: bool


@dataclass(frozen=True)
class NearbyHit:
    """A structure and its distance to the asked point."""

    organisation: PublicRow
    distance_m: float


@dataclass(frozen=True)
class Nearby:
    """The nearest structures, and how many lie within the radius in all."""

    hits: list[NearbyHit]
    number_matched: int


def _category_condition(categories: tuple[str, ...]) -> ColumnElement[bool]:
    """Structures in any of the sectors."""
    members = select(OrganisationCategory.organisation_id).where(
        col(OrganisationCategory.category).in_(categories)
    )
    return col(Organisation.id).in_(members)


def _changed_condition(since: datetime) -> ColumnElement[bool]:
    """Structures added or changed at or after `since`.

    As an id list from the updated_at index: a plain range condition next to ORDER BY id
    would walk the whole table in id order to find the few recent changes.
    """
    changed = select(Organisation.id).where(col(Organisation.updated_at) >= since)
    return col(Organisation.id).in_(changed)


def filter_conditions(filters: OrganisationFilter) -> list[ColumnElement[bool]]:
    """The SQL conditions a filter stands for."""
    conditions: list[ColumnElement[bool]] = []
    if filters.categories:
        conditions.append(_category_condition(filters.categories))
    if filters.regions:
        conditions.append(col(Organisation.region).in_(filters.regions))
    if filters.departements:
        conditions.append(col(Organisation.departement).in_(filters.departements))
    if filters.legal_forms:
        conditions.append(col(Organisation.legal_form).in_(filters.legal_forms))
    if set(filters.statuses) != set(STATUSES):
        conditions.append(col(Organisation.status).in_(filters.statuses))
    if filters.sirens:
        conditions.append(col(Organisation.siren).in_(filters.sirens))
    if filters.text:
        conditions.append(text_match(fold(filters.text)))
    if filters.bbox:
        conditions.append(box_condition(filters.bbox))
    return conditions + _time_conditions(filters)


def _time_conditions(filters: OrganisationFilter) -> list[ColumnElement[bool]]:
    """The `updated_since` / `updated_until` window on updated_at."""
    conditions: list[ColumnElement[bool]] = []
    if filters.updated_since:
        conditions.append(_changed_condition(filters.updated_since))
    if filters.updated_until:
        conditions.append(col(Organisation.updated_at) <= filters.updated_until)
    return conditions


def _public_select() -> Select[tuple[object, ...]]:
    """SELECT of the public columns only."""
    return core_select(*(ORGANISATION_TABLE.c[name] for name in PUBLIC_COLUMNS))


def _public_rows(session: Session, statement: Select[tuple[object, ...]]) -> list[PublicRow]:
    """Run a public SELECT and give its rows as plain dicts (much faster to read than Rows)."""
    # all(): one fetchall by the driver, not a fetchone per row.
    return [
        dict(zip(PUBLIC_COLUMNS, row, strict=True))
        for row in session.connection().execute(statement).all()
    ]


def driver_rows(connection: Connection, statement: Select[tuple[object, ...]],
                parameters: dict[str, Any] | None = None) -> list[Any]:
    """A SELECT's rows as the driver's cursor gives them: no SQLAlchemy row object per row."""
    result = connection.execute(statement, parameters)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _plain_rows(session: Session, statement: Select[tuple[object, ...]],
                parameters: dict[str, Any] | None = None) -> list[PlainRow]:
    """Run a public SELECT; its rows as plain tuples, made plain column by column."""
    return list(plain_batch(driver_rows(session.connection(), statement, parameters)).rows())


# Built once: the statement and its cache key are reused by every request for one id.
_BY_ID = _public_select().where(col(Organisation.id) == bindparam("organisation_id"))


def organisation_by_id(*, session: Session, organisation_id: int) -> PlainRow | None:
    """The public columns of one structure, by id (a plain row)."""
    rows = _plain_rows(session, _BY_ID, {"organisation_id": organisation_id})
    return rows[0] if rows else None


def id_ordered_select(
    connection: Connection, filters: OrganisationFilter, after: int | None = None,
    matched: int | None = None,
) -> Select[tuple[object, ...]]:
    """The public columns (PUBLIC_COLUMNS order) of the matches in id order after `after`.

    `matched`: how many structures match the filters, when the caller has counted them
    (it may spare the database a density probe).
    """
    one_sector = len(filters.categories) == 1 and not filters.text
    others = filter_conditions(replace(filters, text=None, bbox=None,
                                       categories=() if one_sector else filters.categories))
    statement = strategy_for(connection.dialect.name).id_ordered(
        connection, _public_select().where(*others), bbox=filters.bbox, after=after,
        folded_text=fold(filters.text) if filters.text else None, matched=matched)
    if one_sector:
        statement = _driven_by_sector(statement, filters.categories[0])
    return statement


def organisations_page(
    *, session: Session, filters: OrganisationFilter, limit: int, after: int | None = None,
    matched: int | None = None,
) -> Page:
    """One page in id order, starting after the id `after` (keyset paging).

    `matched`: how many structures match the filters, when already counted.
    """
    statement = id_ordered_select(session.connection(), filters, after, matched)
    rows = _plain_rows(session, statement.limit(limit + 1))
    next_after = int(rows[limit - 1][ID_INDEX]) if len(rows) > limit else None
    return Page(rows=rows[:limit], next_after=next_after)


def _driven_by_sector(statement: Select[tuple[object, ...]], sector: str
                      ) -> Select[tuple[object, ...]]:
    """An id-ordered statement joined to one sector's links, read in their id order.

    The (category, organisation_id) index then yields the page's ids in order and stops
    at the limit, where `id IN (members)` would first collect every member of the sector.
    """
    links = CATEGORY_TABLE
    joined = statement.join(links, and_(links.c.organisation_id == ORGANISATION_TABLE.c.id,
                                        links.c.category == sector))
    return joined.order_by(None).order_by(links.c.organisation_id)


def organisations_by_relevance(
    *, session: Session, filters: OrganisationFilter, limit: int, after: int | None = None
) -> RankedPage:
    """The `limit` structures most relevant to `filters.text`, best first (one page).

    `after` keeps only ids above it, as in an id-ordered listing. Without a text, every
    structure ranks the same, so they come in id order.
    """
    strategy = strategy_for(session.connection().dialect.name)
    statement = _public_select().where(*filter_conditions(replace(filters, text=None)))
    if after is not None:
        statement = statement.where(col(Organisation.id) > after)
    # Without a text every structure ranks the same: ties are broken by id, as always.
    ranked = (strategy.ranked(statement, fold(filters.text)) if filters.text
              else statement.order_by(col(Organisation.id))).limit(limit + 1)
    rows = _public_rows(session, ranked)
    return RankedPage(rows=rows[:limit], more=len(rows) > limit)


def organisations_nearby(
    *,
    session: Session,
    lat: float,
    lon: float,
    radius_m: float,
    filters: OrganisationFilter,
    limit: int,
) -> Nearby:
    """The `limit` structures nearest the point within `radius_m`, and how many are within."""
    connection = session.connection()
    columns = [ORGANISATION_TABLE.c[name] for name in PUBLIC_COLUMNS]
    rows, total = strategy_for(connection.dialect.name).nearby(
        connection, Circle(lat, lon, radius_m), columns, filter_conditions(filters), limit)
    hits = [NearbyHit(dict(zip(PUBLIC_COLUMNS, values, strict=True)), distance)
            for values, distance in rows]
    return Nearby(hits=hits, number_matched=total)


def updated_at_range(*, session: Session) -> tuple[datetime, datetime] | None:
    """The first and last updated_at (None: no structure), two index lookups."""
    updated = col(Organisation.updated_at)
    # One min() or max() per SELECT, so that SQLite reads each from the index's ends.
    first, last = (select(bound(updated)).scalar_subquery() for bound in (func.min, func.max))
    found = session.connection().execute(core_select(first, last)).one()
    return None if found[0] is None else (found[0], found[1])


def category_counts(*, session: Session) -> dict[str, int]:
    """How many structures each sector has."""
    statement = select(OrganisationCategory.category, func.count()).group_by(
        col(OrganisationCategory.category)
    )
    return {category: int(count) for category, count in session.exec(statement).all()}
