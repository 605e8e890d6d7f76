"""The Web-Mercator grid the aggregates and clusters are counted on.

At level `l` the world is 2**l × 2**l cells, the tiles of zoom `l`: cell (cx, cy) holds the
points whose normalised Mercator coordinates x = (lon + 180) / 360 and y (0 at the north
edge, 1 at the south) give floor(x · 2**l) = cx and floor(y · 2**l) = cy. The database
computes a point's cells with one SQL expression (`cell_index`), always the same, so a
point is in the same cell whoever asks; Python only computes which cells a box covers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Float, Integer, case, cast, func, literal, literal_column
from sqlalchemy.dialects import sqlite

from app.spatial import BBox

# The levels stored in organisation_cell for every dimension: zoom bands two apart (12 is
# ~6.8 × 4.7 km in France). Each finer level costs about as much to maintain on import as
# all coarser ones.
LEVELS = (2, 4, 6, 8, 10, 12)
FINEST = LEVELS[-1]
# Finer levels kept for some dimensions only (`aggregates.levels_of`: `all` down to 18,
# ~107 × 70 m in France, the sector and legal-form counts down to 16): a count with no
# filter but a box or a circle reads whole cells down to 18, so only a strip a hundred
# metres wide along its edge is counted point by point.
FINE_LEVELS = (14, 16, 18)
ALL_LEVELS = (*LEVELS, *FINE_LEVELS)
MAX_LAT = 85.0511287798066  # beyond it, Mercator puts points on the edge row
# A cell counts as inside a box only with this margin (in cells), so that rounding in the
# cell expression can never put a point of the box's outside into an inside cell.
INSIDE_MARGIN = 1e-6


@dataclass(frozen=True)
class CellRange:
    """The cells cx in [x_min, x_max], cy in [y_min, y_max] of one level (may be empty)."""

    level: int
    x_min: int
    x_max: int
    y_min: int
    y_max: int

    @property
    def empty(self) -> bool:
        """True when the range holds no cell."""
        return self.x_min > self.x_max or self.y_min > self.y_max

    def scaled(self, level: int) -> CellRange:
        """The same area at a finer level."""
        factor = 1 << (level - self.level)
        return CellRange(level, self.x_min * factor, (self.x_max + 1) * factor - 1,
                         self.y_min * factor, (self.y_max + 1) * factor - 1)

    def size(self) -> int:
        """How many cells the range holds."""
        return 0 if self.empty else (self.x_max - self.x_min + 1) * (self.y_max - self.y_min + 1)


def x_of(lon: float) -> float:
    """Normalised Mercator x of a longitude."""
    return (lon + 180.0) / 360.0


def y_of(lat: float) -> float:
    """Normalised Mercator y of a latitude (0 north, 1 south)."""
    phi = math.radians(max(-MAX_LAT, min(MAX_LAT, lat)))
    return (1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0


def ys_of(lats: NDArray[np.float64]) -> NDArray[np.float64]:
    """`y_of` of many latitudes at once (numpy)."""
    phi = np.radians(np.clip(lats, -MAX_LAT, MAX_LAT))
    ys: NDArray[np.float64] = (1.0 - np.log(np.tan(phi) + 1.0 / np.cos(phi)) / math.pi) / 2.0
    return ys


def lon_of(x: float) -> float:
    """The longitude of a normalised x."""
    return x * 360.0 - 180.0


def lat_of(y: float) -> float:
    """The latitude of a normalised y."""
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y))))


def x_expression(lon: Any) -> ColumnElement[float]:
    """SQL: normalised Mercator x of a longitude column."""
    shifted: ColumnElement[float] = lon + literal(180.0)
    return shifted / literal(360.0)


def y_expression(lat: Any) -> ColumnElement[float]:
    """SQL: normalised Mercator y of a latitude column (SQLite needs its math functions)."""
    clamped = case((lat > MAX_LAT, MAX_LAT), (lat < -MAX_LAT, -MAX_LAT), else_=lat)
    phi = func.radians(cast(clamped, Float))
    return (literal(1.0) - func.ln(func.tan(phi) + literal(1.0) / func.cos(phi))
            / func.pi()) / literal(2.0)


def cell_index(normalised: Any, level: int) -> ColumnElement[int]:
    """SQL: the cell index at `level` of a normalised coordinate, within 0 .. 2**level - 1."""
    last = (1 << level) - 1
    index = cast(func.floor(normalised * literal(float(1 << level))), Integer)
    return case((index < 0, 0), (index > last, last), else_=index)


@cache
def point_cell(lon: Any, lat: Any, level: int) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """SQL: (cx, cy) at `level` of the point in these columns, each one precompiled fragment.

    The very SQL of `cell_index`, its numbers written in: a read statement that repeats it
    stays small, so SQLAlchemy's work on every execution (cache key, parameters) stays small.
    """
    return (_fragment(cell_index(x_expression(lon), level)),
            _fragment(cell_index(y_expression(lat), level)))


def _fragment(expression: ColumnElement[int]) -> ColumnElement[int]:
    """An expression as one SQL text with its values written in (standard SQL throughout)."""
    compiled = expression.compile(dialect=sqlite.dialect(),
                                  compile_kwargs={"literal_binds": True})
    return literal_column(f"({compiled})", Integer)


def inside_range(box: BBox, level: int) -> CellRange:
    """The cells of `level` wholly inside a box that does not cross the antimeridian."""
    n = 1 << level
    x0, x1 = x_of(box.min_lon) * n, x_of(box.max_lon) * n
    y0, y1 = y_of(box.max_lat) * n, y_of(box.min_lat) * n
    return CellRange(level, math.ceil(x0 + INSIDE_MARGIN), math.floor(x1 - INSIDE_MARGIN) - 1,
                     math.ceil(y0 + INSIDE_MARGIN), math.floor(y1 - INSIDE_MARGIN) - 1)


def touched_range(box: BBox, level: int) -> CellRange:
    """The cells of `level` a box (not crossing the antimeridian) touches."""
    last = (1 << level) - 1
    n = 1 << level

    def index(value: float) -> int:
        return max(0, min(last, math.floor(value * n)))

    return CellRange(level, index(x_of(box.min_lon)), index(x_of(box.max_lon)),
                     index(y_of(box.max_lat)), index(y_of(box.min_lat)))


def cell_box(cells: CellRange) -> BBox:
    """The WGS84 box of a range of cells."""
    n = 1 << cells.level
    return BBox(lon_of(cells.x_min / n), lat_of((cells.y_max + 1) / n),
                lon_of((cells.x_max + 1) / n), lat_of(cells.y_min / n))


def split_at_antimeridian(box: BBox) -> list[BBox]:
    """One box, or its two halves when it crosses the antimeridian."""
    if box.min_lon <= box.max_lon:
        return [box]
    return [BBox(box.min_lon, box.min_lat, 180.0, box.max_lat),
            BBox(-180.0, box.min_lat, box.max_lon, box.max_lat)]
