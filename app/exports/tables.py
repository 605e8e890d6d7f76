"""The formats written as tables through Arrow, a batch at a time: GeoPackage, GeoParquet.

Each batch of rows becomes one Arrow record batch (points as WKB); GDAL (through pyogrio)
or the Parquet writer consumes them one by one, so no whole table is ever in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely

from app.exports.columns import TABLE_COLUMNS, python_type
from app.geojson import COORDINATE_DECIMALS
from app.queries import PublicRow

RowBatches = Iterable[Sequence[PublicRow]]
GEOMETRY = "geometry"
LAYER = "organisations"
_ARROW_TYPES: dict[type, pa.DataType] = {
    int: pa.int64(), float: pa.float64(), datetime: pa.timestamp("us", tz="UTC"),
}
# GeoParquet 1.0: WKB points; no `crs` member means OGC:CRS84 (longitude, latitude).
GEOPARQUET_METADATA = {"version": "1.0.0", "primary_column": GEOMETRY, "columns": {
    GEOMETRY: {"encoding": "WKB", "geometry_types": ["Point"]}}}


def arrow_schema() -> pa.Schema:
    """The exported columns with their Arrow types, then the WKB geometry."""
    fields = [pa.field(name, _ARROW_TYPES.get(python_type(name), pa.string()))
              for name in TABLE_COLUMNS]
    return pa.schema([*fields, pa.field(GEOMETRY, pa.binary())])


def _cells(rows: Sequence[PublicRow], name: str, kind: pa.DataType) -> list[Any]:
    """One column of the rows: text columns as str (enums by value), others as they are."""
    if kind == pa.string():
        return [None if row[name] is None else str(row[name]) for row in rows]
    return [row[name] for row in rows]


def _points(rows: Sequence[PublicRow]) -> list[bytes]:
    """The rows' points as WKB, rounded like the API's GeoJSON."""
    lons = [round(row["lon"], COORDINATE_DECIMALS) for row in rows]
    lats = [round(row["lat"], COORDINATE_DECIMALS) for row in rows]
    return list(shapely.to_wkb(shapely.points(lons, lats)))


def arrow_batch(rows: Sequence[PublicRow], schema: pa.Schema) -> pa.RecordBatch:
    """One Arrow record batch of public rows."""
    columns = [pa.array(_cells(rows, field.name, field.type), type=field.type)
               for field in schema if field.name != GEOMETRY]
    return pa.RecordBatch.from_arrays([*columns, pa.array(_points(rows), pa.binary())],
                                      schema=schema)


def _arrow_batches(batches: RowBatches, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The row batches as Arrow record batches."""
    for rows in batches:
        yield arrow_batch(rows, schema)


def write_geopackage(batches: RowBatches, path: Path) -> None:
    """A GeoPackage with one point layer, `organisations`, in EPSG:4326."""
    schema = arrow_schema()
    reader = pa.RecordBatchReader.from_batches(schema, _arrow_batches(batches, schema))
    pyogrio.write_arrow(reader, str(path), layer=LAYER, driver="GPKG", geometry_name=GEOMETRY,
                        geometry_type="Point", crs="EPSG:4326")


def write_geoparquet(batches: RowBatches, path: Path) -> None:
    """A GeoParquet 1.0 file, one row group per batch."""
    schema = arrow_schema().with_metadata({"geo": json.dumps(GEOPARQUET_METADATA)})
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:  # type: ignore[no-untyped-call]
        for batch in _arrow_batches(batches, schema):
            writer.write_batch(batch)
