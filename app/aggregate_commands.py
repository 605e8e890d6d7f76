"""`ess-atlas aggregates check|rebuild`: compare the grid counts with the table, or redo them."""

from __future__ import annotations

import time

import typer
from sqlalchemy import Engine

from app import aggregates
from app.config import Settings
from app.db import open_database
from app.terminal import exits_on_configuration_error

aggregates_cli = typer.Typer(help="The pre-aggregated counts behind clusters, counts and facets.",
                             no_args_is_help=True)


def _engine() -> Engine:
    """The configured database at this build's schema (an older one has no aggregate table)."""
    return open_database(Settings())


@aggregates_cli.command("check")
@exits_on_configuration_error
def check() -> None:
    """Compare the aggregates with a recomputation from the organisation table (exit 1 if not)."""
    engine = _engine()
    try:
        with engine.connect() as connection:
            wrong = aggregates.mismatches(connection)
    finally:
        engine.dispose()
    if wrong:
        typer.echo(f"aggregates out of step: {wrong} rows differ; run `ess-atlas aggregates "
                   "rebuild`", err=True)
        raise typer.Exit(code=1)
    typer.echo("aggregates in step with the organisation table")


@aggregates_cli.command("rebuild")
@exits_on_configuration_error
def rebuild() -> None:
    """Recompute every aggregate from the organisation table, in one transaction."""
    engine = _engine()
    started = time.perf_counter()
    try:
        with engine.begin() as connection:
            aggregates.rebuild(connection)
    finally:
        engine.dispose()
    typer.echo(f"aggregates rebuilt in {time.perf_counter() - started:.1f} s")
