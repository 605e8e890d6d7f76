"""GET /api/exports/organisations.{geojson,geojsonseq,csv,gpkg,parquet}: the data, taken out.

The whole dataset comes from a file materialised once per data version (Content-Length,
ETag, Last-Modified, byte ranges, so GDAL's /vsicurl/ and download managers work). A
filtered GeoJSON, GeoJSONSeq or CSV export streams while the rows are read; a filtered
GeoPackage or GeoParquet (files that are not written front to back) is written to a
temporary file first, then sent and deleted.
"""

from __future__ import annotations

import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from starlette.background import BackgroundTask
from starlette.concurrency import iterate_in_threadpool
from starlette.responses import FileResponse, StreamingResponse
from starlette.types import Receive, Scope, Send

from app import http_cache
from app.deps import HARVEST_PARAMETERS, HarvestFilterDep, SettingsDep, get_engine, only_parameters
from app.exports.files import ExportFile, export_file, materialise
from app.exports.formats import ExportFormat
from app.exports.rows import row_batches
from app.exports.writing import export_chunks, write_export
from app.middleware import HEAD_REQUEST
from app.queries import OrganisationFilter

router = APIRouter(prefix="/api/exports", tags=["exports"])
EngineDep = Annotated[Engine, Depends(get_engine)]
# One export written at a time per process: each holds a batch and a writer in memory.
_WRITERS = "export_writers"


class ExportFileResponse(FileResponse):
    """A file answer that skips reading the file for a HEAD (run as GET by HeadMiddleware)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the file, or only its headers for a HEAD."""
        if scope.get(HEAD_REQUEST):
            scope = {**scope, "method": "HEAD"}
        await super().__call__(scope, receive, send)


def _writers(request: Request) -> anyio.CapacityLimiter:
    """The app's limit on exports written at once (made on first use, in the event loop)."""
    limiter = getattr(request.app.state, _WRITERS, None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(1)
        setattr(request.app.state, _WRITERS, limiter)
    return limiter


class CsvDelimiter(StrEnum):
    """The CSV delimiters offered."""

    SEMICOLON = ";"
    COMMA = ","


def _disposition(filename: str) -> dict[str, str]:
    """The header that names the downloaded file."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "Every structure matching the filters, in the format",
          "content": {f.media_type: {} for f in ExportFormat}},
    304: {"description": "Not modified (If-None-Match)"},
}


# Declared before the route of every format, so that it answers for .csv.
@router.get(
    "/organisations.csv",
    response_class=Response,
    responses=_ANSWERS,
    dependencies=[Depends(only_parameters(*HARVEST_PARAMETERS, "delimiter"))],
)
async def export_organisations_csv(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    filters: HarvestFilterDep,
    delimiter: Annotated[
        CsvDelimiter, Query(description="';' (spreadsheets in France) or ','")
    ] = CsvDelimiter.SEMICOLON,
) -> Response:
    """Every structure matching the filters (public fields only) as CSV (UTF-8 with a BOM)."""
    return await _export(request, settings.export_dir, engine, ExportFormat.CSV, filters,
                         delimiter.value)


@router.get(
    "/organisations.{export_format}",
    response_class=Response,
    responses=_ANSWERS,
    dependencies=[Depends(only_parameters(*HARVEST_PARAMETERS))],
)
async def export_organisations(
    request: Request,
    export_format: ExportFormat,
    settings: SettingsDep,
    engine: EngineDep,
    filters: HarvestFilterDep,
) -> Response:
    """Every structure matching the filters (public fields only), as a file."""
    return await _export(request, settings.export_dir, engine, export_format, filters, ";")


async def _export(
    request: Request, directory: Path, engine: Engine, export_format: ExportFormat,
    filters: OrganisationFilter, delimiter: str,
) -> Response:
    """The whole dataset as a file, or a filtered export streamed or sent."""
    if filters == OrganisationFilter():
        return await _whole_dataset(request, directory, engine, export_format, delimiter)
    filename = f"organisations-filtered.{export_format.value}"
    if export_format.streams:
        chunks = export_chunks(export_format, row_batches(engine, filters), delimiter)
        return StreamingResponse(iterate_in_threadpool(chunks),
                                 media_type=export_format.media_type,
                                 headers=_disposition(filename))
    return await _written_then_sent(request, engine, export_format, filters, filename)


async def _whole_dataset(
    request: Request, directory: Path, engine: Engine, export_format: ExportFormat,
    delimiter: str,
) -> Response:
    """The materialised file of the current data version (written first if need be)."""
    found: ExportFile = await anyio.to_thread.run_sync(
        export_file, directory, engine, export_format, delimiter)
    if not found.path.exists():
        found = await anyio.to_thread.run_sync(
            materialise, directory, engine, export_format, delimiter, limiter=_writers(request))
    tag = f'"{found.path.stem}"'
    headers = {**http_cache.validators(tag, found.version), **_disposition(found.filename)}
    if unchanged := http_cache.not_modified(request, headers):
        return unchanged
    return ExportFileResponse(found.path, media_type=export_format.media_type, headers=headers)


async def _written_then_sent(
    request: Request, engine: Engine, export_format: ExportFormat, filters: OrganisationFilter,
    filename: str,
) -> Response:
    """A filtered GeoPackage or GeoParquet: written to a temporary file, sent, deleted."""
    folder = Path(tempfile.mkdtemp(prefix="ess-export-"))
    path = folder / filename
    try:
        await anyio.to_thread.run_sync(
            write_export, export_format, row_batches(engine, filters), path,
            limiter=_writers(request))
    except BaseException:
        _remove(folder)
        raise
    return ExportFileResponse(path, media_type=export_format.media_type,
                              headers=_disposition(filename),
                              background=BackgroundTask(_remove, folder))


def _remove(folder: Path) -> None:
    """Delete a temporary export folder and what it holds."""
    for path in folder.iterdir():
        path.unlink(missing_ok=True)
    folder.rmdir()
