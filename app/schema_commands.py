"""`ess-atlas db upgrade|current`: the schema's revision, and bringing it to this build's."""

from __future__ import annotations

import typer

from app import aggregates, schema
from app.config import Settings, load_settings
from app.db import make_engine, open_database, reporting_open_errors
from app.terminal import exits_on_configuration_error

db_cli = typer.Typer(help="The database schema: its revision, and upgrades.",
                     no_args_is_help=True)


def _revision_text(revision: str | None) -> str:
    """A revision as printed; None is a database without schema version."""
    return revision or "none (an empty database, or one made before schema migrations)"


def _read_version(settings: Settings) -> tuple[str | None, str | None]:
    """The database's revision, and why it is not this build's (None when it is)."""
    with reporting_open_errors(settings.database_url):
        engine = make_engine(settings.database_url)
        try:
            with engine.connect() as connection:
                return schema.current_revision(connection), schema.version_problem(connection)
        finally:
            engine.dispose()


def _back_fill_aggregates(settings: Settings) -> bool:
    """Rebuild aggregates made by an older build (a level missing); True when it had to."""
    with reporting_open_errors(settings.database_url):
        engine = make_engine(settings.database_url)
        try:
            return aggregates.ensure(engine)
        finally:
            engine.dispose()


@db_cli.command("upgrade")
@exits_on_configuration_error
def upgrade() -> None:
    """Bring the schema to this build's revision, keeping every row."""
    settings = load_settings()
    before, problem = _read_version(settings)
    head = schema.head_revision()
    if problem is None:
        done = ("its aggregates, made by an older build, were rebuilt"
                if _back_fill_aggregates(settings) else "nothing to do")
        typer.echo(f"the schema is at {head}, this build's revision: {done}")
        return
    open_database(settings, migrate=True).dispose()
    typer.echo(f"the schema was at {_revision_text(before)}; it is now at {head}")


@db_cli.command("current")
@exits_on_configuration_error
def current() -> None:
    """Print the schema's revision; exit 65 when it is not this build's."""
    revision, problem = _read_version(load_settings())
    if problem is None:
        typer.echo(f"{revision} (this build's revision)")
        return
    typer.echo(_revision_text(revision))
    raise schema.OutdatedSchema(problem)
