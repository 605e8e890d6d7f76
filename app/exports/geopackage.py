"""GeoPackage exports through pyogrio's GDAL: one point layer, fed an Arrow stream.

The batches of rows become Arrow record batches (the GeoParquet writer's) that GDAL
consumes one at a time through one open dataset, so memory follows the batch; times are
written in UTC.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from app.exports.geoparquet import GEOMETRY, arrow_batch, arrow_schema
from app.exports.rows import PlainBatch

LAYER = "organisations"
# What pyogrio imports on first import only to learn whether they are installed, some
# 70 MB in all; its Arrow writer never uses them.
_PYOGRIO_OPTIONAL = ("geopandas", "pandas", "pyproj")


@contextmanager
def _hidden(modules: Sequence[str]) -> Iterator[None]:
    """Make importing these modules fail meanwhile, unless the process already has them."""
    absent = [name for name in modules if name not in sys.modules]
    sys.modules.update(dict.fromkeys(absent))  # type: ignore[arg-type]  # None: "not installed"
    try:
        yield
    finally:
        for name in absent:
            if sys.modules.get(name) is None:
                del sys.modules[name]


def _write_arrow() -> Callable[..., Any]:
    """The Arrow writer of pyogrio, imported without the dataframe libraries it may look for."""
    if "pyogrio" not in sys.modules:
        with _hidden(_PYOGRIO_OPTIONAL):
            import pyogrio  # noqa: F401
    from pyogrio import write_arrow

    return write_arrow  # type: ignore[no-any-return]


def write_geopackage(batches: Iterable[PlainBatch], path: Path) -> None:
    """A GeoPackage with one point layer, `organisations`, in EPSG:4326."""
    schema = arrow_schema()
    stream = pa.RecordBatchReader.from_batches(
        schema, (arrow_batch(batch, schema) for batch in batches))
    _write_arrow()(stream, str(path), layer=LAYER, driver="GPKG", geometry_name=GEOMETRY,
                   geometry_type="Point", crs="EPSG:4326")
