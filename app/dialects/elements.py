"""Dialect-neutral SQL expressions: each dialect module says how to compile them.

Queries put these in their WHERE clauses without knowing the database; SQLAlchemy
compiles them with the function registered for the connection's dialect
(`@compiles(Element, "sqlite")` in app/dialects/sqlite.py), else with the portable one
in app/dialects/portable.py. Their arguments are bound parameters, so statements that
hold them stay in SQLAlchemy's compiled cache.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ColumnElement, or_
from sqlalchemy.sql.functions import FunctionElement

from app.spatial import BBox


class WithinBox(FunctionElement[bool]):
    """The structure's point lies in a box that does not cross the antimeridian."""

    name = "ess_within_box"
    inherit_cache = True
    type = Boolean()


class TextMatch(FunctionElement[bool]):
    """The structure's folded text contains the folded query text (3+ characters)."""

    name = "ess_text_match"
    inherit_cache = True
    type = Boolean()


def within_box(box: BBox) -> WithinBox:
    """`WithinBox` for a box that does not cross the antimeridian (see `BBox.parts`)."""
    return WithinBox(box.min_lat, box.max_lat, box.min_lon, box.max_lon)


def text_match(folded_text: str) -> TextMatch:
    """`TextMatch` for text already passed through `geocode.normalize.fold`."""
    return TextMatch(folded_text)


def box_condition(bbox: BBox) -> ColumnElement[bool]:
    """Points inside the box (two boxes when it crosses the antimeridian)."""
    parts = bbox.parts()
    if len(parts) == 1:
        return within_box(parts[0])
    return or_(*(within_box(part) for part in parts))
