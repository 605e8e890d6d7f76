"""Write an export of any format to a file, or give a streamed format's bytes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from app.exports import text
from app.exports.formats import ExportFormat
from app.exports.rows import RowBatches


def export_chunks(
    export_format: ExportFormat, batches: RowBatches, delimiter: str = ";"
) -> Iterator[bytes]:
    """The bytes of a streamed format (GeoJSON, GeoJSONSeq, CSV)."""
    if export_format is ExportFormat.GEOJSON:
        return text.geojson_chunks(batches)
    if export_format is ExportFormat.GEOJSONSEQ:
        return text.geojsonseq_chunks(batches)
    if export_format is ExportFormat.CSV:
        return text.csv_chunks(batches, delimiter)
    raise ValueError(f"{export_format} is not written front to back")


def write_export(
    export_format: ExportFormat, batches: RowBatches, path: Path, delimiter: str = ";"
) -> None:
    """Write the rows to `path` in this format."""
    if export_format.streams:
        with path.open("wb") as output:
            for chunk in export_chunks(export_format, batches, delimiter):
                output.write(chunk)
        return
    # Imported only now: Arrow (some 50 MB) and GDAL (some 110 MB) only for their formats.
    if export_format is ExportFormat.GPKG:
        from app.exports.geopackage import write_geopackage

        write_geopackage(batches, path)
    else:
        from app.exports.geoparquet import write_geoparquet

        write_geoparquet(batches, path)


def write_then_rename(
    export_format: ExportFormat, batches: RowBatches, path: Path, delimiter: str = ";"
) -> None:
    """Write beside `path` under a temporary name, then rename: never half a file at `path`."""
    # The suffix stays last: GDAL picks and checks the format by it.
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        write_export(export_format, batches, partial, delimiter)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
