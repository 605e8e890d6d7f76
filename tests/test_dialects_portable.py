"""A dialect with no module in app/dialects gets the portable SQL: BETWEEN and LIKE."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine.default import DefaultDialect

from app.queries import ORGANISATION_TABLE, BBox, OrganisationFilter, filter_conditions


def compiled(filters: OrganisationFilter) -> str:
    statement = select(ORGANISATION_TABLE.c.id).where(*filter_conditions(filters))
    return str(statement.compile(dialect=DefaultDialect(paramstyle="pyformat")))


def test_a_box_is_between_on_lat_and_lon() -> None:
    sql = compiled(OrganisationFilter(bbox=BBox(170.0, -20.0, -170.0, -10.0)))
    assert "organisation.lat BETWEEN %(ess_within_box_1)s AND %(ess_within_box_2)s" in sql
    assert sql.count("organisation.lon BETWEEN") == 2
    assert "rtree" not in sql


def test_a_text_is_like_with_its_wildcards_escaped_in_sql() -> None:
    sql = compiled(OrganisationFilter(text="100%_x"))
    assert "organisation.search_text LIKE" in sql and "ESCAPE '\\'" in sql
    assert "replace(replace(replace(" in sql
    assert "fts" not in sql
