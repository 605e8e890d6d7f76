"""Whole-dataset exports, materialised once per data version and then served as files.

The first request for a format at a new data version writes the file (in a worker
thread, never on the event loop); every later one is a file read, with byte ranges. A
lock file makes sure several server processes never write the same file at once: the
others wait, then find it written. Files are written under a temporary name and renamed,
so a reader never sees half a file.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from app.data_version import DataVersion, data_version
from app.exports.formats import ExportFormat
from app.exports.rows import row_batches
from app.exports.writing import write_then_rename
from app.queries import OrganisationFilter

STEM = "organisations"
# Older versions kept beside the newest: a download that began on one can still finish.
VERSIONS_KEPT = 2


@dataclass(frozen=True)
class ExportFile:
    """A materialised export: where it is, the data version it holds, its public name."""

    path: Path
    version: DataVersion
    filename: str


def _kind(export_format: ExportFormat, delimiter: str) -> str:
    """The end of the file name of one export kind (`-comma.csv` for a comma CSV)."""
    comma = export_format is ExportFormat.CSV and delimiter == ","
    return f"{'-comma' if comma else ''}.{export_format.value}"


def export_file(
    directory: Path, engine: Engine, export_format: ExportFormat, delimiter: str = ";"
) -> ExportFile:
    """Where the whole-dataset export of the current data version lives (maybe not yet)."""
    with engine.connect() as connection:
        version = data_version(connection)
    kind = _kind(export_format, delimiter)
    return ExportFile(path=directory / f"{STEM}-{version.tag}{kind}", version=version,
                      filename=f"{STEM}{kind}")


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` across processes (and threads)."""
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def materialise(
    directory: Path, engine: Engine, export_format: ExportFormat, delimiter: str = ";"
) -> ExportFile:
    """The whole-dataset export of the current data version, written if it is not yet."""
    target = export_file(directory, engine, export_format, delimiter)
    if target.path.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with _exclusive(directory / f".{target.filename}.lock"):
        if target.path.exists():  # another process wrote it while this one waited
            return target
        write_then_rename(export_format, row_batches(engine, OrganisationFilter()),
                          target.path, delimiter)
        _remove_older(target.path, target.version, _kind(export_format, delimiter))
    return target


def _remove_older(newest: Path, version: DataVersion, kind: str) -> None:
    """Delete the files of older data versions of the same export, but the last few."""
    pattern = f"{STEM}-{'?' * len(version.tag)}{kind}"
    same_kind = sorted(newest.parent.glob(pattern), key=lambda path: path.stat().st_mtime,
                       reverse=True)
    for path in same_kind[VERSIONS_KEPT:]:
        path.unlink(missing_ok=True)
