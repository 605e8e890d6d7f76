"""Dialect-neutral SQL expressions: each dialect module says how to compile them.

Queries put these in their WHERE clauses without knowing the database; SQLAlchemy
compiles them with the function registered for the connection's dialect
(`@compiles(Element, "sqlite")` in app/dialects/sqlite.py), else with the portable one
in app/dialects/portable.py. Their arguments are bound parameters, so statements that
hold them stay in SQLAlchemy's compiled cache.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float, func, literal, or_
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.sqltypes import NULLTYPE

from app.models import Organisation
from app.spatial import EARTH_RADIUS_M, BBox, Circle

_ORGANISATION = Organisation.__table__  # type: ignore[attr-defined]


class WithinBox(FunctionElement[bool]):
    """The structure's point lies in a box that does not cross the antimeridian."""

    name = "ess_within_box"
    inherit_cache = True
    # A plain SQL condition: typed Boolean, SQLite would get "= 1" appended to it.
    type = NULLTYPE  # type: ignore[assignment]


class CheckedBox(WithinBox):
    """`WithinBox` checked on each row a plan reads anyway (driven by another index or id order)."""

    name = "ess_checked_box"
    inherit_cache = True


class StripBox(WithinBox):
    """The active structures of an edge strip: a box less than a grid cell across one way.

    Strips are counted beside the aggregates, which count active structures only, so the
    strip carries that status test itself (the statement has none of its own). A dialect
    may read the strip's whole band of latitudes (`LatitudeStrip`) or longitudes
    (`LongitudeStrip`) from an index of the coordinates: few points for so thin a band.
    """

    name = "ess_strip_box"
    inherit_cache = True


class LatitudeStrip(StripBox):
    """A `StripBox` less than a cell tall (north or south of covered cells)."""

    name = "ess_latitude_strip"
    inherit_cache = True


class LongitudeStrip(StripBox):
    """A `StripBox` less than a cell wide (west or east of covered cells)."""

    name = "ess_longitude_strip"
    inherit_cache = True


class TextMatch(FunctionElement[bool]):
    """The structure's folded text contains the folded query text (3+ characters)."""

    name = "ess_text_match"
    inherit_cache = True
    # A plain SQL condition: typed Boolean, SQLite would get "= 1" appended to it.
    type = NULLTYPE  # type: ignore[assignment]


def within_box(box: BBox, kind: type[WithinBox] = WithinBox) -> WithinBox:
    """`WithinBox` (or `CheckedBox`) for a box that does not cross the antimeridian."""
    return kind(box.min_lat, box.max_lat, box.min_lon, box.max_lon)


def text_match(folded_text: str) -> TextMatch:
    """`TextMatch` for text already passed through `geocode.normalize.fold`."""
    return TextMatch(folded_text)


def box_condition(bbox: BBox, kind: type[WithinBox] = WithinBox) -> ColumnElement[bool]:
    """Points inside the box (two boxes when it crosses the antimeridian)."""
    parts = bbox.parts()
    if len(parts) == 1:
        return within_box(parts[0], kind)
    return or_(*(within_box(part, kind) for part in parts))


def haversine_distance(
    circle: Circle, lat: ColumnElement[float] = _ORGANISATION.c.lat,
    lon: ColumnElement[float] = _ORGANISATION.c.lon,
) -> ColumnElement[float]:
    """SQL: metres from the circle's centre, the very operations of `spatial.haversine_m`."""
    return haversine_from(circle.lat, circle.lon, lat, lon)


def haversine_from(
    centre_lat: Any, centre_lon: Any, lat: ColumnElement[float] = _ORGANISATION.c.lat,
    lon: ColumnElement[float] = _ORGANISATION.c.lon,
) -> ColumnElement[float]:
    """SQL: metres from a centre (values or SQL), the very operations of `spatial.haversine_m`."""

    def squared_sine_of_half(angle: ColumnElement[float]) -> ColumnElement[float]:
        return func.pow(func.sin(angle / 2, type_=Float), 2, type_=Float)

    centre_phi = func.radians(centre_lat, type_=Float)
    row_phi = func.radians(lat, type_=Float)
    a = (squared_sine_of_half(row_phi - centre_phi)
         + func.cos(centre_phi, type_=Float) * func.cos(row_phi, type_=Float)
         * squared_sine_of_half(func.radians(lon - centre_lon, type_=Float)))
    half_chord = func.min(1.0, func.sqrt(a, type_=Float), type_=Float)
    return literal(2 * EARTH_RADIUS_M) * func.asin(half_chord, type_=Float)
