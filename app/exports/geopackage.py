"""GeoPackage exports through pyogrio's GDAL: one point layer, fed an Arrow stream.

The batches of rows become Arrow record batches (the GeoParquet writer's) that GDAL
consumes one at a time through one open dataset, so memory follows the batch; times are
written in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from app.exports.arrow import pa, pyogrio_write_arrow
from app.exports.geoparquet import GEOMETRY, arrow_batch, arrow_schema
from app.exports.rows import PlainBatch

LAYER = "organisations"


def write_geopackage(batches: Iterable[PlainBatch], path: Path) -> None:
    """A GeoPackage with one point layer, `organisations`, in EPSG:4326."""
    schema = arrow_schema()
    stream = pa.RecordBatchReader.from_batches(
        schema, (arrow_batch(batch, schema) for batch in batches))
    pyogrio_write_arrow()(stream, str(path), layer=LAYER, driver="GPKG",
                          geometry_name=GEOMETRY, geometry_type="Point", crs="EPSG:4326")
