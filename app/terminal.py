r"""What commands print: text safe for a terminal, configuration errors as one line.

Names and reasons printed by the commands come from imported data: an escape sequence
in a name could move the cursor, retitle the window or hide text, so control and
bidirectional-override characters are shown as Python escapes (`\x1b`) instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from app.config import EXIT_CONFIG, ConfigurationError
from app.schema import EXIT_OUTDATED, OutdatedSchema

P = ParamSpec("P")
R = TypeVar("R")
_BIDI_CONTROLS = [0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_UNPRINTABLE = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0)]}
_UNPRINTABLE.update({code: f"\\u{code:04x}" for code in _BIDI_CONTROLS})


def printable(text: str) -> str:
    """The text with control and bidi-override characters written as escapes."""
    return text.translate(_UNPRINTABLE)


def exits_on_configuration_error(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command; a ConfigurationError prints one line and exits with EXIT_CONFIG (78).

    So does a database whose schema is out of date (exit EXIT_OUTDATED, 65).
    """

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ConfigurationError as error:
            typer.echo(f"error: invalid settings: {printable(str(error))}", err=True)
            raise typer.Exit(code=EXIT_CONFIG) from None
        except OutdatedSchema as error:
            typer.echo(f"error: {printable(str(error))}", err=True)
            raise typer.Exit(code=EXIT_OUTDATED) from None

    return run
