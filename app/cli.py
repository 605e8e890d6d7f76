"""The ess-atlas command line: serve, import, export, geocode, duplicates, aggregates, db."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from app.aggregate_commands import aggregates_cli
from app.config import load_settings
from app.csv_geocoding import (
    CsvSource,
    GeocodeSummary,
    UnusableInput,
    geocode_csv,
    read_address_csv,
)
from app.db import masked_url, open_database
from app.exports.command import export_command
from app.geocoder import build_geocoder, close_geocoder
from app.importer import commands as importer_commands
from app.importer.commands import duplicates_cli, hash_token_command, import_command
from app.schema_commands import db_cli
from app.terminal import exits_on_configuration_error
from geocode.base import GeocodeError, Precision
from geocode.chain import GeocoderChain

cli = typer.Typer(
    name="ess-atlas",
    help="Map and open data of the French social and solidarity economy (ESS).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


@cli.callback()
@exits_on_configuration_error
def check_settings() -> None:
    """Every command first checks the ESS_ variables (exit 78 naming a wrong one)."""
    load_settings()


@cli.command()
@exits_on_configuration_error
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (default: number of cores)")
    ] = os.cpu_count() or 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(help="Proxy addresses whose X-Forwarded-* headers are trusted, comma-"
                     "separated (default: ESS_FORWARDED_ALLOW_IPS, else nobody)"),
    ] = None,
) -> None:
    """Serve the map and the API; an empty database gets the default directory."""
    from app import server
    from app.main import create_app

    settings = load_settings()
    open_database(settings).dispose()
    typer.echo(f"ess-atlas on http://{host}:{port}/  (database: "
               f"{masked_url(settings.database_url)})", err=True)
    if workers > 1:
        server.prepare_database(settings)  # once, not raced by every worker
    app = server.APP_IMPORT_STRING if workers > 1 else create_app(settings)
    server.run_server(server.server_config(app, settings, host=host, port=port, workers=workers,
                                           forwarded_allow_ips=forwarded_allow_ips))


cli.command("import")(exits_on_configuration_error(import_command))
cli.command("export")(exits_on_configuration_error(export_command))
cli.command("hash-token")(hash_token_command)
cli.add_typer(duplicates_cli, name="duplicates")
cli.add_typer(aggregates_cli, name="aggregates")
cli.add_typer(db_cli, name="db")


@cli.command("geocode")
@exits_on_configuration_error
def geocode_command(
    input_csv: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV file with addresses")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", dir_okay=False, help="Geocoded CSV to write")
    ],
    address_cols: Annotated[
        str | None,
        typer.Option(help="Columns holding street,postcode,city, in that order (default: by name)"),
    ] = None,
    citycode_col: Annotated[
        str | None, typer.Option(help="Column holding the INSEE commune code")
    ] = None,
) -> None:
    """Add latitude, longitude and their precision to every row of a CSV file of addresses."""
    settings = load_settings()
    try:
        names = address_cols.split(",") if address_cols is not None else None
        source = read_address_csv(input_csv, names, citycode_col)
    except UnusableInput as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    chain = build_geocoder(settings)
    try:
        summary = _geocode_with_progress(source, output, chain)
    except (GeocodeError, OSError) as error:
        typer.echo(f"error: {error}; {output} was not written", err=True)
        raise typer.Exit(code=1) from None
    finally:
        close_geocoder(chain)
    Console().print(_geocode_summary(summary))
    typer.echo(f"written: {output}")


def _geocode_with_progress(
    source: CsvSource, output: Path, chain: GeocoderChain
) -> GeocodeSummary:
    """Geocode `source` into `output` behind a progress bar (rows, rows/s, time left)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               importer_commands.RowsPerSecondColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("geocoding", total=len(source.rows))
        return geocode_csv(source, output, chain, lambda rows: progress.advance(task, rows))


def _geocode_summary(summary: GeocodeSummary) -> Table:
    """The closing table: rows per precision, failed rows by reason, total."""
    table = Table(title="Geocoding summary")
    table.add_column("result")
    table.add_column("rows", justify="right")
    for precision in Precision:
        if summary.precisions[precision]:
            table.add_row(str(precision), str(summary.precisions[precision]))
    for reason, count in sorted(summary.failures.items()):
        table.add_row(f"failed: {reason}", str(count))
    table.add_row("total", str(summary.rows), style="bold")
    return table


def main() -> None:
    """Entry point of the console script."""
    cli()


if __name__ == "__main__":
    main()
