"""The first row of every key of a run, kept on disk so a run's memory does not grow with it.

The same-key rule (the first row of a run wins) needs every key the run has seen; at a
million rows a Python dict of them would be the largest thing in memory. They go to a
private temporary SQLite database instead, one batch at a time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

FirstRow = tuple[str, int]
_KEYS_PER_QUERY = 900
_CACHE_KIB = 8192


class FirstRows:
    """Key -> (file, line) of the first row with that key, in a temporary database."""

    def __init__(self) -> None:
        # An empty name opens a private on-disk database that SQLite deletes on close.
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, file TEXT, line INTEGER)"
                         " WITHOUT ROWID")

    def _stored(self, keys: Sequence[str]) -> dict[str, FirstRow]:
        found: dict[str, FirstRow] = {}
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[start : start + _KEYS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            found.update((key, (file, line)) for key, file, line in self._db.execute(
                f"SELECT key, file, line FROM seen WHERE key IN ({marks})",  # noqa: S608
                chunk))
        return found

    def first_of(self, file: str, rows: Sequence[tuple[str, int]]) -> list[FirstRow]:
        """For each (key, line) of a file, the first row of the run with that key.

        A row that is the first of its key gets its own (file, line) back.
        """
        first = self._stored(list(dict.fromkeys(key for key, _ in rows)))
        new: list[tuple[str, str, int]] = []
        for key, line in rows:
            if key not in first:
                first[key] = (file, line)
                new.append((key, file, line))
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO seen VALUES (?, ?, ?)", new)
        self._db.execute("COMMIT")
        return [first[key] for key, _ in rows]

    def close(self) -> None:
        """Drop the temporary database."""
        self._db.close()
