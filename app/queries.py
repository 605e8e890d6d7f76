"""Every read query: filters, bbox, nearby, keyset paging, counts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from app.models import PUBLIC_COLUMNS, Organisation, OrganisationCategory
from geocode.normalize import fold

EARTH_RADIUS_M = 6_371_008.8

PublicRow = dict[str, Any]


@dataclass(frozen=True)
class BBox:
    """A WGS84 box; min_lon > max_lon means it crosses the antimeridian."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


@dataclass(frozen=True)
class OrganisationFilter:
    """What a client may filter structures on; empty means everything."""

    categories: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    departements: tuple[str, ...] = ()
    legal_forms: tuple[str, ...] = ()
    text: str | None = None
    bbox: BBox | None = None


@dataclass(frozen=True)
class Page:
    """One page of a keyset-paged listing."""

    rows: Sequence[PublicRow]
    next_after: int | None


@dataclass(frozen=True)
class NearbyHit:
    """A structure and its distance to the asked point."""

    organisation: PublicRow
    distance_m: float


def _escape_like(text: str) -> str:
    """Escape LIKE wildcards so user text matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _bbox_condition(bbox: BBox) -> ColumnElement[bool]:
    """Points inside the box (split in two across the antimeridian)."""
    lat_ok = col(Organisation.lat).between(bbox.min_lat, bbox.max_lat)
    lon_ok: ColumnElement[bool]
    if bbox.min_lon <= bbox.max_lon:
        lon_ok = col(Organisation.lon).between(bbox.min_lon, bbox.max_lon)
    else:
        lon_ok = or_(col(Organisation.lon) >= bbox.min_lon, col(Organisation.lon) <= bbox.max_lon)
    return and_(lat_ok, lon_ok)


def _category_condition(categories: tuple[str, ...]) -> ColumnElement[bool]:
    """Structures in any of the sectors."""
    members = select(OrganisationCategory.organisation_id).where(
        col(OrganisationCategory.category).in_(categories)
    )
    return col(Organisation.id).in_(members)


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
    if filters.text:
        pattern = f"%{_escape_like(fold(filters.text))}%"
        conditions.append(col(Organisation.search_text).like(pattern, escape="\\"))
    if filters.bbox:
        conditions.append(_bbox_condition(filters.bbox))
    return conditions


def _public_select() -> Select[tuple[object, ...]]:
    """SELECT of the public columns only."""
    return core_select(*(Organisation.__table__.c[name] for name in PUBLIC_COLUMNS))  # type: ignore[attr-defined]


def _public_rows(session: Session, statement: Select[tuple[object, ...]]) -> list[PublicRow]:
    """Run a public SELECT and give its rows as plain dicts (much faster to read than Rows)."""
    return [
        dict(zip(PUBLIC_COLUMNS, row, strict=True))
        for row in session.connection().execute(statement)
    ]


def organisation_by_id(*, session: Session, organisation_id: int) -> PublicRow | None:
    """The public columns of one structure, by id."""
    statement = _public_select().where(col(Organisation.id) == organisation_id)
    rows = _public_rows(session, statement)
    return rows[0] if rows else None


def organisations_page(
    *, session: Session, filters: OrganisationFilter, limit: int, after: int | None = None
) -> Page:
    """One page in id order, starting after the id `after` (keyset paging)."""
    statement = _public_select().where(*filter_conditions(filters))
    if after is not None:
        statement = statement.where(col(Organisation.id) > after)
    rows = _public_rows(session, statement.order_by(col(Organisation.id)).limit(limit + 1))
    next_after = int(rows[limit - 1]["id"]) if len(rows) > limit else None
    return Page(rows=rows[:limit], next_after=next_after)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bbox_around(lat: float, lon: float, radius_m: float) -> BBox:
    """A box that contains the circle of `radius_m` around the point."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    dlon = min(180.0, math.degrees(radius_m / (EARTH_RADIUS_M * cos_lat)))
    min_lon, max_lon = lon - dlon, lon + dlon
    if min_lon < -180:
        min_lon += 360
    if max_lon > 180:
        max_lon -= 360
    return BBox(min_lon, max(-90.0, lat - dlat), max_lon, min(90.0, lat + dlat))


def organisations_nearby(
    *,
    session: Session,
    lat: float,
    lon: float,
    radius_m: float,
    filters: OrganisationFilter,
    limit: int,
) -> list[NearbyHit]:
    """Structures within `radius_m` of the point, nearest first."""
    boxed = replace(filters, bbox=bbox_around(lat, lon, radius_m))
    candidates = _public_rows(session, _public_select().where(*filter_conditions(boxed)))
    hits = [NearbyHit(row, haversine_m(lat, lon, row["lat"], row["lon"])) for row in candidates]
    inside = [hit for hit in hits if hit.distance_m <= radius_m]
    inside.sort(key=lambda hit: (hit.distance_m, hit.organisation["id"]))
    return inside[:limit]


def category_counts(*, session: Session) -> dict[str, int]:
    """How many structures each sector has."""
    statement = select(OrganisationCategory.category, func.count()).group_by(
        col(OrganisationCategory.category)
    )
    return {category: int(count) for category, count in session.exec(statement).all()}


def counts_by(*, session: Session, column: str) -> dict[str, int]:
    """How many structures per value of `region` or `departement`."""
    attribute = {"region": Organisation.region, "departement": Organisation.departement}[column]
    statement = (
        select(attribute, func.count()).where(col(attribute).is_not(None)).group_by(col(attribute))
    )
    return {str(value): int(count) for value, count in session.exec(statement).all()}
