"""GeoParquet 1.0 exports through pyarrow: one row group per batch of rows.

A batch of plain values becomes one Arrow record batch column by column, each column
handed to Arrow whole (times as ISO 8601 text, parsed by Arrow).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from app.exports.arrow import pa
from app.exports.columns import TABLE_COLUMNS, python_type
from app.exports.points import wkb_points
from app.exports.rows import PlainBatch

GEOMETRY = "geometry"
TIMESTAMP = pa.timestamp("us", tz="UTC")
_ARROW_TYPES: dict[type, pa.DataType] = {
    int: pa.int64(), float: pa.float64(), bool: pa.bool_(), datetime: TIMESTAMP}
# GeoParquet 1.0: WKB points; no `crs` member means OGC:CRS84 (longitude, latitude).
GEOPARQUET_METADATA = {"version": "1.0.0", "primary_column": GEOMETRY, "columns": {
    GEOMETRY: {"encoding": "WKB", "geometry_types": ["Point"]}}}


def arrow_schema() -> pa.Schema:
    """The exported columns with their Arrow types, the WKB geometry, the GeoParquet key."""
    fields = [pa.field(name, _ARROW_TYPES.get(python_type(name), pa.string()))
              for name in TABLE_COLUMNS]
    return pa.schema([*fields, pa.field(GEOMETRY, pa.binary())],
                     metadata={"geo": json.dumps(GEOPARQUET_METADATA)})


def _arrow_column(values: Sequence[Any], kind: pa.DataType) -> pa.Array:
    """One column of plain values (times parsed by Arrow from their ISO 8601 text)."""
    if kind == TIMESTAMP:
        return pa.array(values, pa.string()).cast(TIMESTAMP)
    return pa.array(values, kind)


def arrow_batch(batch: PlainBatch, schema: pa.Schema) -> pa.RecordBatch:
    """One Arrow record batch of plain values."""
    arrays = [_arrow_column(batch.column(field.name), field.type)
              for field in schema if field.name != GEOMETRY]
    geometry = wkb_points(batch.column("lon"), batch.column("lat"))
    return pa.RecordBatch.from_arrays([*arrays, geometry], schema=schema)


def write_geoparquet(batches: Iterable[PlainBatch], path: Path) -> None:
    """A GeoParquet 1.0 file, one row group per batch."""
    schema = arrow_schema()
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:  # type: ignore[no-untyped-call]
        for batch in batches:
            writer.write_batch(arrow_batch(batch, schema))
