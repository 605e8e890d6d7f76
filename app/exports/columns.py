"""The exported columns, derived from the one public column list (never a private field).

A table export (CSV, GeoPackage, GeoParquet) has the structure's id, the properties of
its GeoJSON feature, and its point; `categories` stays the stored `|`-joined text, which
every format and spreadsheet can hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.geojson import PROPERTY_COLUMNS, json_value
from app.queries import ORGANISATION_TABLE

# id, then the feature's properties: the same names as the API's, in the same order.
TABLE_COLUMNS: tuple[str, ...] = ("id", *PROPERTY_COLUMNS)
# CSV adds the point as two columns.
CSV_COLUMNS: tuple[str, ...] = (*TABLE_COLUMNS, "lon", "lat")


def python_type(column: str) -> type:
    """The Python type a column's values have (int, float, str, datetime…)."""
    kind = ORGANISATION_TABLE.c[column].type
    # A TypeDecorator (SQLModel's UTCDateTime) says `object`: its implementation knows.
    python: type = getattr(kind, "impl_instance", kind).python_type
    return python


def text_value(value: Any) -> str:
    """A cell as text: ISO 8601 UTC for times, the value of an enum, '' for nothing."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return str(json_value(value))
    return str(value)


def csv_cells(row: Mapping[str, Any]) -> list[str]:
    """The CSV cells of one public row, in CSV_COLUMNS order."""
    return [text_value(row[name]) for name in CSV_COLUMNS]
