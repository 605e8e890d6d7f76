"""GeoParquet 1.0 exports through pyarrow: one row group per batch of rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from app.exports.columns import TABLE_COLUMNS, python_type
from app.exports.points import wkb_points
from app.queries import PublicRow

GEOMETRY = "geometry"
_ARROW_TYPES: dict[type, pa.DataType] = {
    int: pa.int64(), float: pa.float64(), datetime: pa.timestamp("us", tz="UTC"),
}
# GeoParquet 1.0: WKB points; no `crs` member means OGC:CRS84 (longitude, latitude).
GEOPARQUET_METADATA = {"version": "1.0.0", "primary_column": GEOMETRY, "columns": {
    GEOMETRY: {"encoding": "WKB", "geometry_types": ["Point"]}}}


def arrow_schema() -> pa.Schema:
    """The exported columns with their Arrow types, the WKB geometry, the GeoParquet key."""
    fields = [pa.field(name, _ARROW_TYPES.get(python_type(name), pa.string()))
              for name in TABLE_COLUMNS]
    return pa.schema([*fields, pa.field(GEOMETRY, pa.binary())],
                     metadata={"geo": json.dumps(GEOPARQUET_METADATA)})


def _cells(rows: Sequence[PublicRow], name: str, kind: pa.DataType) -> list[Any]:
    """One column of the rows: text columns as str (enums by value), others as they are."""
    if kind == pa.string():
        return [None if row[name] is None else str(row[name]) for row in rows]
    return [row[name] for row in rows]


def arrow_batch(rows: Sequence[PublicRow], schema: pa.Schema) -> pa.RecordBatch:
    """One Arrow record batch of public rows."""
    columns = [pa.array(_cells(rows, field.name, field.type), type=field.type)
               for field in schema if field.name != GEOMETRY]
    geometry = pa.array(list(wkb_points(rows)), pa.binary())
    return pa.RecordBatch.from_arrays([*columns, geometry], schema=schema)


def write_geoparquet(batches: Iterable[Sequence[PublicRow]], path: Path) -> None:
    """A GeoParquet 1.0 file, one row group per batch."""
    schema = arrow_schema()
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:  # type: ignore[no-untyped-call]
        for rows in batches:
            writer.write_batch(arrow_batch(rows, schema))
