"""`ess-atlas export`: the same filters and formats as /api/exports, to a file, with progress.

Imports only what an export runs: the web framework comes in only to check filters (the
API's own rules), Arrow and GDAL only for their formats (app/exports/writing.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlmodel import Session

from app import summaries
from app.config import load_settings
from app.db import open_database
from app.errors import InvalidParameter
from app.exports.formats import ExportFormat
from app.exports.rows import RowBatches, row_batches
from app.exports.text import CSV_DELIMITERS
from app.exports.writing import write_then_rename
from app.progress import row_progress
from app.queries import OrganisationFilter
from app.terminal import printable

EXIT_USAGE = 2
Repeated = Annotated[list[str] | None, typer.Option(show_default=False)]


def _filters(
    category: list[str], region: list[str], departement: list[str], legal_form: list[str],
    q: str | None, bbox: str | None, updated_since: str | None,
) -> OrganisationFilter:
    """The filters, checked by the same rules as the API's query parameters."""
    texts = (q, bbox, updated_since)
    if not (category or region or departement or legal_form) and texts == (None, None, None):
        return OrganisationFilter()
    # The API's parameter rules live beside its FastAPI dependencies: imported when needed.
    from app.deps import harvest_filter, organisation_filter
    from app.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(load_settings().categories_yaml)
    filters = organisation_filter(taxonomy, category=category, region=region,
                                  departement=departement, legal_form=legal_form, q=q, bbox=bbox)
    return harvest_filter(filters, updated_since=updated_since)


def _counted(batches: RowBatches, advance: Callable[[int], None]) -> RowBatches:
    """The batches, reporting each one's size once it is handed on."""
    for batch in batches:
        yield batch
        advance(len(batch))


def _write_with_progress(
    engine: Engine, filters: OrganisationFilter, export_format: ExportFormat, output: Path,
    delimiter: str,
) -> int:
    """Write the export behind a progress bar; return how many structures it holds."""
    with Session(engine) as session:
        total = summaries.number_matched(session=session, filters=filters)
    written = 0
    with row_progress() as progress:
        task = progress.add_task(f"exporting {export_format.value}", total=total)

        def advance(rows: int) -> None:
            nonlocal written
            written += rows
            progress.advance(task, rows)

        write_then_rename(export_format, _counted(row_batches(engine, filters), advance), output,
                          delimiter)
    return written


def export_command(
    export_format: Annotated[ExportFormat, typer.Option("--format", "-f", help="File format")],
    output: Annotated[Path, typer.Option("--output", "-o", dir_okay=False, help="File to write")],
    category: Repeated = None,
    region: Repeated = None,
    departement: Repeated = None,
    legal_form: Repeated = None,
    q: Annotated[str | None, typer.Option(help="Text in name, description, city, sector")]
    = None,
    bbox: Annotated[str | None, typer.Option(help="minLon,minLat,maxLon,maxLat")] = None,
    updated_since: Annotated[str | None, typer.Option(
        help="Only structures added or changed since this RFC 3339 date-time")] = None,
    delimiter: Annotated[str, typer.Option(help="CSV delimiter: ';' or ','")] = ";",
) -> None:
    """Export the structures matching the filters (public fields only) to a file."""
    try:
        if delimiter not in CSV_DELIMITERS:
            raise InvalidParameter(f"delimiter must be ';' or ',', got {delimiter!r}",
                                   parameter="delimiter")
        filters = _filters(category or [], region or [], departement or [], legal_form or [],
                           q, bbox, updated_since)
    except InvalidParameter as error:
        typer.echo(f"error: --{str(error.parameter).replace('_', '-')}: "
                   f"{printable(error.message)}", err=True)
        raise typer.Exit(code=EXIT_USAGE) from None
    engine = open_database(load_settings())
    try:
        total = _write_with_progress(engine, filters, export_format, output, delimiter)
    finally:
        engine.dispose()
    typer.echo(f"written: {total} structures to {output}")
