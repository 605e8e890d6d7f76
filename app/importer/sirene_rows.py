"""SIRENE establishment rows completed before they are read: their unité légale, WGS84 points.

- With a `StockUniteLegale` file, only the establishments of an ESS unité légale are kept
  (the others are counted as `not_ess`); they take the catégorie juridique and the
  dénomination of their unité légale when they lack them, and the label société à mission.
- Lambert-93 `x` / `y` (or the projection of the `epsg` column, for overseas) become
  `longitude` / `latitude` where those are absent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from app.importer.reader import RawRow, cell_at
from app.importer.report import Notice
from app.importer.unites_legales import EssUnitesLegales, UniteLegale

if TYPE_CHECKING:
    from pyproj import Transformer

LABELS_COLUMN = "labelsUniteLegale"
MISSION_LABEL = "societe-a-mission"
LAMBERT_93 = "2154"
_FROM_UNITE_LEGALE = ("categorieJuridiqueUniteLegale", "denominationUniteLegale")
_POINT = ("longitude", "latitude")


@cache
def _to_wgs84(epsg: str) -> Transformer | None:
    """The transformation from an EPSG projection to longitude / latitude (None if unknown).

    pyproj is imported here, by SIRENE imports only: any other import would carry it in
    the importing process and again in its forked worker.
    """
    from pyproj import Transformer
    from pyproj.exceptions import CRSError

    try:
        return Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
    except CRSError:
        return None


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass
class AdaptedRows:
    """The rows kept, how many were filtered out, and warnings about the others."""

    rows: list[RawRow]
    not_ess: int = 0
    notices: list[Notice] = field(default_factory=list)


class SireneRows:
    """Completes the rows of one SIRENE file (header given) before their columns are read."""

    def __init__(self, file: str, header: Sequence[str], ess: EssUnitesLegales | None) -> None:
        self.file, self.ess = file, ess
        added = [*_FROM_UNITE_LEGALE, LABELS_COLUMN] if ess else []
        if "x" in header and "y" in header:
            added += _POINT
        self.header = (*header, *(name for name in added if name not in header))
        self._at = {name: index for index, name in enumerate(self.header)}
        self._width = len(header)

    def adapt(self, rows: Sequence[RawRow]) -> AdaptedRows:
        """The rows kept, completed to the header's width."""
        rows = [row if row.problem else self._widened(row) for row in rows]
        adapted = self._keep_ess(rows) if self.ess else AdaptedRows(rows)
        if "x" in self._at:
            adapted.notices += self._project(adapted.rows)
        return adapted

    def _widened(self, row: RawRow) -> RawRow:
        """The row with empty cells for the added columns.

        Cells past the file's header stay past the widened one, so that a row with too
        many fields is still rejected as such, never read as an added column.
        """
        width, cells = self._width, row.cells
        padding = [""] * (len(self.header) - width + max(0, width - len(cells)))
        return RawRow(row.line, [*cells[:width], *padding, *cells[width:]])

    def _cell(self, row: RawRow, name: str) -> str:
        return cell_at(row.cells, self._at.get(name))

    def _keep_ess(self, rows: Sequence[RawRow]) -> AdaptedRows:
        """The rows of an ESS unité légale, completed from it; a faulty row is kept as it is."""
        assert self.ess is not None  # noqa: S101  (only called with one)
        found = self.ess.find([self._cell(row, "siren") for row in rows if not row.problem])
        kept = []
        for row in rows:
            unite = found.get(self._cell(row, "siren"))
            if unite is not None:
                self._complete(row, unite)
            if unite is not None or row.problem:
                kept.append(row)
        return AdaptedRows(kept, not_ess=len(rows) - len(kept))

    def _complete(self, row: RawRow, unite: UniteLegale) -> None:
        """Fill what the establishment lacks from its unité légale."""
        for name, value in zip(_FROM_UNITE_LEGALE, unite[:2], strict=True):
            if not self._cell(row, name):
                row.cells[self._at[name]] = value
        if unite.societe_mission:
            index = self._at[LABELS_COLUMN]
            row.cells[index] = "|".join(filter(None, (row.cells[index], MISSION_LABEL)))

    def _project(self, rows: Sequence[RawRow]) -> list[Notice]:
        """Write longitude / latitude from x / y where they are absent; warn when impossible."""
        notices = []
        for row in rows:
            if row.problem or self._cell(row, "longitude") or self._cell(row, "latitude"):
                continue
            x, y = self._cell(row, "x"), self._cell(row, "y")
            if not x and not y:
                continue
            epsg = self._cell(row, "epsg") or LAMBERT_93
            point = self._point(x, y, epsg)
            if point is None:
                notices.append(Notice(self.file, row.line, "xy_unconverted", (
                    f"x {x!r}, y {y!r} (EPSG:{epsg}) cannot be converted to longitude and "
                    "latitude: the row is placed from its address")))
                continue
            for name, value in zip(_POINT, point, strict=True):
                row.cells[self._at[name]] = f"{value:.6f}"
        return notices

    @staticmethod
    def _point(x: str, y: str, epsg: str) -> tuple[float, float] | None:
        """(longitude, latitude) of a projected point, or None when it is not one."""
        easting, northing = _number(x), _number(y)
        if easting is None or northing is None or not epsg.isdigit():
            return None
        transformer = _to_wgs84(epsg)
        if transformer is None:
            return None
        longitude, latitude = transformer.transform(easting, northing)
        if not (math.isfinite(longitude) and math.isfinite(latitude)):
            return None
        return longitude, latitude
