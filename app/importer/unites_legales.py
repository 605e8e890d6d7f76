"""The ESS unités légales of a SIRENE `StockUniteLegale` file, looked up by SIREN.

At national scale the file has about 28 million unités légales, about a million of them
ESS: only those are kept, in a temporary SQLite file, so memory stays bounded whatever
the size of the file.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from app.importer.faults import FileRejected
from app.importer.reader import RawRow, cell_at, open_csv_file

ESS_FLAG = "economieSocialeSolidaireUniteLegale"
KEPT_COLUMNS = ("categorieJuridiqueUniteLegale", "denominationUniteLegale",
                "societeMissionUniteLegale")
_INSERT_BATCH = 10_000


class UniteLegale(NamedTuple):
    """The fields an establishment takes from its ESS unité légale."""

    categorie_juridique: str
    denomination: str
    societe_mission: bool


def _column_positions(header: Sequence[str]) -> tuple[int, int, list[int | None]]:
    """Where the SIREN, the ESS flag and the kept columns are (raise FileRejected if absent)."""
    positions = {name: index for index, name in enumerate(header)}
    missing = [name for name in ("siren", ESS_FLAG) if name not in positions]
    if missing:
        raise FileRejected(f"not a StockUniteLegale file: no {', '.join(missing)} column",
                           code="unites_legales_columns")
    return positions["siren"], positions[ESS_FLAG], [positions.get(name) for name in KEPT_COLUMNS]


def _ess_rows(rows: Iterator[RawRow], header: Sequence[str]) -> Iterator[tuple[str, str, str, int]]:
    """(siren, catégorie juridique, dénomination, société à mission) of each ESS unité légale."""
    siren, flag, (category, name, mission) = _column_positions(header)
    for row in rows:
        cells = row.cells
        if cell_at(cells, flag) == "O":
            yield (cell_at(cells, siren), cell_at(cells, category), cell_at(cells, name),
                   int(cell_at(cells, mission) == "O"))


class EssUnitesLegales:
    """A SIREN -> ESS unité légale lookup, on disk; `close()` removes it."""

    def __init__(self, path: Path) -> None:
        checked = open_csv_file(path)
        self.rows_read = checked.row_count
        self._directory = tempfile.TemporaryDirectory(prefix="ess-unites-legales-")
        self._database = sqlite3.connect(Path(self._directory.name) / "ul.sqlite")
        try:
            self._load(_ess_rows(checked.rows(), checked.header))
        except BaseException:
            self.close()
            raise

    def _load(self, rows: Iterator[tuple[str, str, str, int]]) -> None:
        database = self._database
        database.execute("PRAGMA journal_mode = OFF")
        database.execute("PRAGMA synchronous = OFF")
        database.execute("CREATE TABLE ul (siren TEXT PRIMARY KEY, categorie TEXT, "
                         "denomination TEXT, mission INTEGER) WITHOUT ROWID")
        while batch := list(islice(rows, _INSERT_BATCH)):
            database.executemany("INSERT OR REPLACE INTO ul VALUES (?, ?, ?, ?)", batch)
        database.commit()
        self.ess_count: int = database.execute("SELECT count(*) FROM ul").fetchone()[0]

    def find(self, sirens: Sequence[str]) -> dict[str, UniteLegale]:
        """The ESS unités légales among `sirens` (a SIREN absent from the result is not ESS)."""
        found = self._database.execute(
            "SELECT siren, categorie, denomination, mission FROM ul "
            "WHERE siren IN (SELECT value FROM json_each(?))", (json.dumps(list(set(sirens))),))
        return {siren: UniteLegale(category, name, bool(mission))
                for siren, category, name, mission in found}

    def close(self) -> None:
        """Remove the temporary lookup."""
        self._database.close()
        self._directory.cleanup()
