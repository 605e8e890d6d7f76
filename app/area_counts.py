"""Counts of active structures per (région, département), kept in step with the table.

`organisation_area` holds one row per région, département, dimension and value (the
dimensions and values of `organisation_cell`), so counts per région or département for
the filters the grid can express read a few hundred rows. `aggregates.add`, `subtract`
and `rebuild` call this module in the same transaction as the grid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, except_, func, literal, select
from sqlalchemy.engine import Connection

from app.models import ACTIVE, Organisation, OrganisationArea
from app.upsert import upsert_into

AREA_TABLE: Table = OrganisationArea.__table__  # type: ignore[attr-defined]
_ORGANISATION: Table = Organisation.__table__  # type: ignore[attr-defined]
KEY_COLUMNS = ("dimension", "value", "region", "departement")


class Dimensions:
    """How aggregates.py files a structure: its dimensions, each one's rows and value."""

    def __init__(self, names: Sequence[str], source: Callable[[Any, str], tuple[Any, Any]],
                 legal_form: Callable[[Table], ColumnElement[str]]) -> None:
        self.names = tuple(names)
        self.source = source
        self.legal_form = legal_form(_ORGANISATION)


def _members(condition: ColumnElement[bool] | None, legal_form: ColumnElement[str]) -> Any:
    """The active structures counted, grouped by the columns the dimensions read (and n)."""
    table = _ORGANISATION
    keys = [table.c.categories, legal_form, func.coalesce(table.c.region, ""),
            func.coalesce(table.c.departement, "")]
    rows = select(*(key.label(name) for key, name in zip(
        keys, ("categories", "legal_form", "region", "departement"), strict=True)),
        func.count().label("n")).where(table.c.status == ACTIVE)
    if condition is not None:
        rows = rows.where(condition)
    # Grouped once here, each dimension sums a few hundred rows, not every structure.
    return rows.group_by(*keys).subquery("members")


def _area_rows(members: Any, dimension: str, dimensions: Dimensions, sign: int) -> Select[Any]:
    """One dimension's rows: count per value, région and département, times `sign`."""
    source, value = dimensions.source(members, dimension)
    return select(literal(dimension), value, members.c.region, members.c.departement,
                  func.sum(members.c.n) * sign).select_from(source).group_by(
        value, members.c.region, members.c.departement)


def _upsert(connection: Connection, rows: Select[Any]) -> None:
    """Add `rows` to organisation_area."""
    statement = upsert_into(AREA_TABLE, connection.dialect.name).from_select(
        [*KEY_COLUMNS, "n"], rows)
    connection.execute(statement.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS), set_={"n": AREA_TABLE.c.n + statement.excluded.n}))


def apply(connection: Connection, condition: ColumnElement[bool] | None, sign: int,
          dimensions: Dimensions) -> None:
    """Add (sign 1) or subtract (sign -1) the matching structures."""
    members = _members(condition, dimensions.legal_form)
    for dimension in dimensions.names:
        _upsert(connection, _area_rows(members, dimension, dimensions, sign))
    if sign < 0:
        connection.execute(AREA_TABLE.delete().where(AREA_TABLE.c.n == 0))


def rebuild(connection: Connection, dimensions: Dimensions) -> None:
    """Recompute every area count from the organisation table."""
    connection.execute(AREA_TABLE.delete())
    apply(connection, None, 1, dimensions)


def mismatches(connection: Connection, dimensions: Dimensions) -> int:
    """How many area rows differ from a recomputation (0 when they are in step)."""
    members = _members(None, dimensions.legal_form)
    wanted = [_area_rows(members, dimension, dimensions, 1) for dimension in dimensions.names]
    recomputed = wanted[0].union_all(*wanted[1:]).subquery()
    stored = select(*(AREA_TABLE.c[name] for name in (*KEY_COLUMNS, "n")))
    count = 0
    for difference in (except_(select(*recomputed.c), stored),
                       except_(stored, select(*recomputed.c))):
        count += connection.execute(select(func.count()).select_from(
            difference.subquery())).scalar_one()
    return int(count)


def is_missing(connection: Connection) -> bool:
    """True when there are active structures but no area counts (a database before 0005)."""
    active = select(_ORGANISATION.c.id).where(_ORGANISATION.c.status == ACTIVE).limit(1)
    has_rows = connection.execute(active).first() is not None
    has_areas = connection.execute(select(AREA_TABLE.c.n).limit(1)).first() is not None
    return has_rows and not has_areas
