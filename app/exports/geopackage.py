"""GeoPackage exports through pyogrio's GDAL: one point layer, appended a batch at a time.

Each batch of rows becomes numpy columns and WKB points that pyogrio appends to the
layer (in one transaction per batch), so memory follows the batch. Times are written in
UTC (GDAL's time zone flag 100).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyogrio.raw import write as ogr_write

from app.exports.columns import TABLE_COLUMNS, python_type
from app.exports.points import wkb_points
from app.queries import PublicRow

LAYER = "organisations"
GDAL_UTC = 100  # GDAL's time zone flag for UTC
_TIME_COLUMNS = frozenset(name for name in TABLE_COLUMNS if python_type(name) is datetime)
_INTEGER_COLUMNS = frozenset(name for name in TABLE_COLUMNS if python_type(name) is int)


def _naive_utc(value: datetime | None) -> datetime | None:
    """A time as naive UTC (GDAL gets the zone separately)."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _column(rows: Sequence[PublicRow], name: str) -> NDArray[Any]:
    """One column of the rows as pyogrio writes it: int64, datetime64 or text objects."""
    if name in _TIME_COLUMNS:
        return np.array([_naive_utc(row[name]) for row in rows], dtype="datetime64[us]")
    if name in _INTEGER_COLUMNS:
        return np.array([row[name] for row in rows], dtype=np.int64)
    return np.array([None if row[name] is None else str(row[name]) for row in rows],
                    dtype=object)


def _append(path: Path, rows: Sequence[PublicRow], *, first: bool) -> None:
    """Write one batch (the first creates the file and its layer)."""
    offsets = {name: np.full(len(rows), GDAL_UTC, dtype=np.int32) for name in _TIME_COLUMNS}
    ogr_write(str(path), wkb_points(rows), [_column(rows, name) for name in TABLE_COLUMNS],
                  list(TABLE_COLUMNS), layer=LAYER, driver="GPKG", geometry_type="Point",
                  crs="EPSG:4326", append=not first, gdal_tz_offsets=offsets)


def write_geopackage(batches: Iterable[Sequence[PublicRow]], path: Path) -> None:
    """A GeoPackage with one point layer, `organisations`, in EPSG:4326."""
    first = True
    for rows in batches:
        _append(path, rows, first=first)
        first = False
    if first:  # nothing matched: the file still has its (empty) layer
        _append(path, [], first=True)
