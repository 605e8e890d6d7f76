"""Progress bars of commands that go through rows: description, bar, count, rows/s, time left.

Rich only: a command that shows a bar does not import what it does not run.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

# Bars go to stderr: stdout stays for what a command prints as its result.
progress_console = Console(stderr=True)


class RowsPerSecondColumn(ProgressColumn):
    """The speed in rows per second."""

    def render(self, task: Task) -> Text:
        """Render the speed, or nothing before it is known."""
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "", style="progress.data.speed")


def row_progress(console: Console = progress_console) -> Progress:
    """A transient bar of rows: description, bar, done/total, rows/s, time left."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    RowsPerSecondColumn(), TimeRemainingColumn(), console=console,
                    transient=True)
