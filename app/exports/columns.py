"""The exported columns, derived from the one public column list (never a private field).

A table export (CSV, GeoPackage, GeoParquet) has the structure's id, the properties of
its GeoJSON feature, and its point; `categories` stays the stored `|`-joined text, which
every format and spreadsheet can hold.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from app.exports.rows import PlainRow
from app.geojson import PROPERTY_COLUMNS
from app.models import PUBLIC_COLUMNS
from app.queries import ORGANISATION_TABLE

# id, then the feature's properties: the same names as the API's, in the same order.
TABLE_COLUMNS: tuple[str, ...] = ("id", *PROPERTY_COLUMNS)
# CSV adds the point as two columns.
CSV_COLUMNS: tuple[str, ...] = (*TABLE_COLUMNS, "lon", "lat")
_csv_values = itemgetter(*(PUBLIC_COLUMNS.index(name) for name in CSV_COLUMNS))


def python_type(column: str) -> type:
    """The Python type a column's values have (int, float, str, datetime…)."""
    kind = ORGANISATION_TABLE.c[column].type
    # A TypeDecorator (SQLModel's UTCDateTime) says `object`: its implementation knows.
    python: type = getattr(kind, "impl_instance", kind).python_type
    return python


def csv_cells(row: PlainRow) -> tuple[Any, ...]:
    """The CSV cells of one plain row, in CSV_COLUMNS order (safecsv writes None as '')."""
    cells: tuple[Any, ...] = _csv_values(row)
    return cells
