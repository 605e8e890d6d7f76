"""The export formats: file suffix, media type, and whether they stream."""

from __future__ import annotations

from enum import StrEnum


class ExportFormat(StrEnum):
    """A format an export is written in (the value is the file suffix)."""

    GEOJSON = "geojson"
    GEOJSONSEQ = "geojsonseq"
    CSV = "csv"
    GPKG = "gpkg"
    PARQUET = "parquet"

    @property
    def media_type(self) -> str:
        """The Content-Type of an export in this format."""
        return _MEDIA_TYPES[self]

    @property
    def streams(self) -> bool:
        """True when the format is written front to back (it can go out while written)."""
        return self not in (ExportFormat.GPKG, ExportFormat.PARQUET)


_MEDIA_TYPES = {
    ExportFormat.GEOJSON: "application/geo+json",
    ExportFormat.GEOJSONSEQ: "application/geo+json-seq",
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.GPKG: "application/geopackage+sqlite3",
    ExportFormat.PARQUET: "application/vnd.apache.parquet",
}
