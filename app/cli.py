"""The ess-atlas command line: serve, import, export, geocode."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from app.config import Settings
from app.importer.commands import duplicates_cli, hash_token_command, import_command

cli = typer.Typer(
    name="ess-atlas",
    help="Map and open data of the French social and solidarity economy (ESS).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
) -> None:
    """Serve the map and the API; an empty database gets the default directory."""
    from app.main import create_app

    settings = Settings()
    console.print(f"ess-atlas on http://{host}:{port}/  (database: {settings.database_url})")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


cli.command("import")(import_command)
cli.command("hash-token")(hash_token_command)
cli.add_typer(duplicates_cli, name="duplicates")


def main() -> None:
    """Entry point of the console script."""
    cli()


if __name__ == "__main__":
    main()
