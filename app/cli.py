"""The ess-atlas command line: serve, import, export, geocode, duplicates, aggregates, db."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from app.config import load_settings
from app.db import masked_url, open_database
from app.exports.command import export_command
from app.progress import row_progress
from app.terminal import exits_on_configuration_error

if TYPE_CHECKING:
    from app.csv_geocoding import CsvSource, GeocodeSummary
    from geocode.chain import GeocoderChain

# Commands whose module is imported only when one of them runs (or is listed by --help):
# the importer, alembic and the geocoders weigh tens of MB an export does not use.
# name -> (module, attribute: a command function or a Typer group).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "import": ("app.importer.commands", "import_command"),
    "hash-token": ("app.importer.commands", "hash_token_command"),
    "duplicates": ("app.importer.commands", "duplicates_cli"),
    "aggregates": ("app.aggregate_commands", "aggregates_cli"),
    "db": ("app.schema_commands", "db_cli"),
}
# Lazy commands that end with one line and exit 78 (or 65) on a wrong setting or schema.
_EXITING_ON_CONFIGURATION_ERROR = {"import"}


# `Any` for click's classes: recent typer releases carry their own copy of click
# (typer._click), older ones use click itself.
def _lazy_command(name: str) -> Any:
    """The click command of a lazily imported command, built as add_typer/command would."""
    module, attribute = LAZY_COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if not isinstance(target, typer.Typer):
        if name in _EXITING_ON_CONFIGURATION_ERROR:
            target = exits_on_configuration_error(target)
        single = typer.Typer()
        single.command(name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return command


class LazyCommands(TyperGroup):
    """The command group: the commands defined here, and LAZY_COMMANDS on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        """Every command's name, the lazy ones included (for --help)."""
        return [*super().list_commands(ctx), *LAZY_COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """A command by name, importing a lazy one's module now."""
        if cmd_name in LAZY_COMMANDS:
            return _lazy_command(cmd_name)
        return super().get_command(ctx, cmd_name)


cli = typer.Typer(
    name="ess-atlas",
    help="Map and open data of the French social and solidarity economy (ESS).",
    cls=LazyCommands,
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


cli.command("export")(exits_on_configuration_error(export_command))


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
    from app.csv_geocoding import UnusableInput, read_address_csv
    from app.geocoder import build_geocoder, close_geocoder
    from geocode.base import GeocodeError

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
    from app.csv_geocoding import geocode_csv

    with row_progress(console) as progress:
        task = progress.add_task("geocoding", total=len(source.rows))
        return geocode_csv(source, output, chain, lambda rows: progress.advance(task, rows))


def _geocode_summary(summary: GeocodeSummary) -> Table:
    """The closing table: rows per precision, failed rows by reason, total."""
    table = Table(title="Geocoding summary")
    table.add_column("result")
    table.add_column("rows", justify="right")
    from geocode.base import Precision

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
