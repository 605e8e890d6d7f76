"""Counting the structures in a circle from the grid's cells, measuring only its rim.

A cell lies wholly inside the circle when its four corners do: along a meridian the
distance to the centre has one minimum, along a parallel it grows with the longitude
difference, so the farthest point of a cell is a corner. Per column of cells, the cells
inside are one run of rows, found in closed form. Their structures are counted from the
`all` aggregate rows, each at the coarsest stored level whose cell is inside
(`inside_runs`); the structures of the finest level's other cells (the rim, a cell or two
wide) are measured one by one (`rim_pieces`). A point is in exactly one finest cell (the
SQL cell expression decides), so the two parts never overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app import grid
from app.spatial import EARTH_RADIUS_M, BBox, Circle, bbox_around

# Cells count as inside only when every corner is this much nearer than the radius (metres):
# far above the rounding of the closed form, far below a cell's size.
INSIDE_MARGIN_M = 1.0


@dataclass(frozen=True)
class Run:
    """The cells (cx, cy) of one level with cy in [cy_min, cy_max] (may be empty)."""

    level: int
    cx: int
    cy_min: int
    cy_max: int

    @property
    def empty(self) -> bool:
        """True when the run holds no cell."""
        return self.cy_min > self.cy_max

    def box(self) -> BBox:
        """The WGS84 box of the run's cells."""
        return grid.cell_box(grid.CellRange(self.level, self.cx, self.cx, self.cy_min,
                                            self.cy_max))


def applies(circle: Circle) -> bool:
    """Whether the cells can count the circle: it crosses neither ±180° nor Mercator's edge."""
    box = circle.box()
    return (len(box.parts()) == 1 and box.min_lon > -180 and box.max_lon < 180
            and box.min_lat > -grid.MAX_LAT and box.max_lat < grid.MAX_LAT)


def _meridian_span(circle: Circle, lon: float, radius_m: float) -> tuple[float, float] | None:
    """The latitudes (degrees) of the meridian `lon` within `radius_m` of the centre."""
    phi0 = math.radians(circle.lat)
    a = math.sin(phi0)
    b = math.cos(phi0) * math.cos(math.radians(lon - circle.lon))
    ratio = math.cos(radius_m / EARTH_RADIUS_M) / math.hypot(a, b)
    if ratio > 1:
        return None
    middle, half = math.atan2(a, b), math.acos(ratio)
    return (max(-90.0, math.degrees(middle - half)), min(90.0, math.degrees(middle + half)))


def _columns(circle: Circle, level: int) -> range:
    """The columns of `level` the circle touches."""
    cells = grid.touched_range(bbox_around(circle.lat, circle.lon, circle.radius_m), level)
    return range(cells.x_min, cells.x_max + 1)


def _inside_run(circle: Circle, level: int, cx: int) -> Run:
    """The cells of a column wholly inside the circle."""
    n, radius = 1 << level, circle.radius_m - INSIDE_MARGIN_M
    spans = [_meridian_span(circle, grid.lon_of(x / n), radius) for x in (cx, cx + 1)]
    if spans[0] is None or spans[1] is None:
        return Run(level, cx, 0, -1)
    south, north = max(spans[0][0], spans[1][0]), min(spans[0][1], spans[1][1])
    inside = grid.inside_range(BBox(grid.lon_of(cx / n), south, grid.lon_of((cx + 1) / n),
                                    north), level)
    return Run(level, cx, inside.y_min, inside.y_max)


def _minus(run: Run, covered: Run) -> list[Run]:
    """The parts of `run` outside `covered` (same level and column)."""
    if covered.empty:
        return [run]
    parts = [Run(run.level, run.cx, run.cy_min, min(run.cy_max, covered.cy_min - 1)),
             Run(run.level, run.cx, max(run.cy_min, covered.cy_max + 1), run.cy_max)]
    return [part for part in parts if not part.empty]


def _scaled(run: Run, level: int) -> Run:
    """A coarser run's rows at a finer level (its column must hold the finer column)."""
    factor = 1 << (level - run.level)
    return Run(level, -1, run.cy_min * factor, (run.cy_max + 1) * factor - 1)


def inside_runs(circle: Circle) -> list[Run]:
    """Runs of cells wholly inside the circle, each at the coarsest stored level that holds it."""
    found: list[Run] = []
    coarser: dict[int, Run] = {}
    previous: int | None = None
    for level in grid.ALL_LEVELS:
        runs = {cx: _inside_run(circle, level, cx) for cx in _columns(circle, level)}
        for cx, run in runs.items():
            parent = coarser.get(cx >> (level - previous)) if previous is not None else None
            covered = Run(level, cx, 0, -1) if parent is None or parent.empty else _scaled(
                parent, level)
            found += [part for part in _minus(run, covered) if not run.empty]
        coarser, previous = runs, level
    return found


def _touched_run(circle: Circle, level: int, cx: int) -> Run:
    """The cells of a column that may hold points of the circle.

    Within a column the circle reaches farthest north and south on the meridian nearest
    its centre (its edges there move towards the centre's latitude with the longitude).
    """
    n = 1 << level
    west, east = grid.lon_of(cx / n), grid.lon_of((cx + 1) / n)
    span = _meridian_span(circle, min(max(circle.lon, west), east),
                          circle.radius_m + INSIDE_MARGIN_M)
    if span is None:
        return Run(level, cx, 0, -1)
    touched = grid.touched_range(BBox(west, span[0], east, span[1]), level)
    return Run(level, cx, touched.y_min, touched.y_max)


def rim_pieces(circle: Circle) -> list[Run]:
    """The finest cells the circle touches that are not wholly inside it, as column runs."""
    level = grid.ALL_LEVELS[-1]
    pieces: list[Run] = []
    for cx in _columns(circle, level):
        column = _touched_run(circle, level, cx)
        if not column.empty:
            pieces += _minus(column, _inside_run(circle, level, cx))
    return pieces
