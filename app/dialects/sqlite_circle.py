"""Counting the structures in a circle from the grid's cells, measuring only its rim.

A cell lies wholly inside the circle when its four corners do: along a meridian the
distance to the centre has one minimum, along a parallel it grows with the longitude
difference, so the farthest point of a cell is a corner. Per column of the finest stored
level, the cells inside are one run of rows, found in closed form for every column at
once (numpy). A coarser cell is inside when all its finest cells are, so the coarser runs
follow from the finest ones by integer arithmetic, and every finest inside cell is counted
once, at the coarsest stored level whose cell holds it (`Cover.inside`): the parts agree
by construction. The structures of the finest cells the circle touches but does not hold
(the rim, a cell or two wide) are measured one by one (`Cover.rim`, searched through
`Cover.rim_boxes`). A point is in exactly one finest cell (the SQL cell expression
decides), so the two parts never overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app import grid
from app.spatial import EARTH_RADIUS_M, BBox, Circle, bbox_around

# Cells count as inside only when every corner is this much nearer than the radius (metres):
# far above the rounding of the closed form, far below a cell's size.
INSIDE_MARGIN_M = 1.0
FINEST = grid.ALL_LEVELS[-1]
Ints = NDArray[np.int64]


@dataclass(frozen=True)
class Run:
    """The cells (cx, cy) of one level with cy in [cy_min, cy_max] (may be empty)."""

    level: int
    cx: int
    cy_min: int
    cy_max: int


@dataclass(frozen=True)
class Cover:
    """A circle as cells: runs wholly inside it, and the rim's pieces at the finest level.

    `inside` and `touched` give, per column of the finest level from `first_column` on, the
    first and last rows inside the circle and touched by it (first > last: none).
    """

    inside_runs: list[Run]
    rim: list[Run]
    first_column: int
    inside: list[tuple[int, int]]
    touched: list[tuple[int, int]]

    def rim_boxes(self) -> list[BBox]:
        """Boxes that hold every rim piece, each over a few of them (one index search each).

        Pieces of neighbouring columns on the same side of the centre share a box while it
        stays at most twice the cells of its pieces: the points of its other cells are told
        apart by `in_rim`.
        """
        groups: list[grid.CellRange] = []
        for side in _sides(self.rim):
            group: grid.CellRange | None = None
            cells = 0
            for piece in side:
                joined = None if group is None else _joined(group, piece)
                if joined is not None and joined.size() <= 2 * (cells + _size(piece)):
                    group, cells = joined, cells + _size(piece)
                    continue
                if group is not None:
                    groups.append(group)
                group = grid.CellRange(FINEST, piece.cx, piece.cx, piece.cy_min, piece.cy_max)
                cells = _size(piece)
            if group is not None:
                groups.append(group)
        return [grid.cell_box(group) for group in groups]

    def in_rim(self, cx: int, cy: int) -> bool:
        """Whether the finest cell (cx, cy) is one of the rim's."""
        index = cx - self.first_column
        if not 0 <= index < len(self.inside):
            return False
        (inside_first, inside_last), (touched_first, touched_last) = (self.inside[index],
                                                                      self.touched[index])
        return touched_first <= cy <= touched_last and not inside_first <= cy <= inside_last


def _sides(pieces: list[Run]) -> list[list[Run]]:
    """The pieces north of their column's inside run, those south of it, whole columns."""
    by_column: dict[int, list[Run]] = {}
    for piece in pieces:
        by_column.setdefault(piece.cx, []).append(piece)
    sides: list[list[Run]] = [[], [], []]
    for column in by_column.values():
        if len(column) == 1:
            sides[2].append(column[0])
        else:
            sides[0].append(column[0])
            sides[1].append(column[1])
    return sides


def _size(piece: Run) -> int:
    """How many cells a piece holds."""
    return piece.cy_max - piece.cy_min + 1


def _joined(group: grid.CellRange, piece: Run) -> grid.CellRange | None:
    """The cells of a group and of the next column's piece, or None (not the next column)."""
    if piece.cx != group.x_max + 1:
        return None
    return grid.CellRange(group.level, group.x_min, piece.cx, min(group.y_min, piece.cy_min),
                          max(group.y_max, piece.cy_max))


def applies(circle: Circle) -> bool:
    """Whether the cells can count the circle: it crosses neither ±180° nor Mercator's edge."""
    box = circle.box()
    return (len(box.parts()) == 1 and box.min_lon > -180 and box.max_lon < 180
            and box.min_lat > -grid.MAX_LAT and box.max_lat < grid.MAX_LAT)


def _meridian_spans(circle: Circle, lons: NDArray[np.float64], radius_m: float
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Per meridian: the latitudes (degrees) within `radius_m` of the centre, or none."""
    phi0 = math.radians(circle.lat)
    a = math.sin(phi0)
    b = math.cos(phi0) * np.cos(np.radians(lons - circle.lon))
    ratio = math.cos(radius_m / EARTH_RADIUS_M) / np.hypot(a, b)
    middle, half = np.arctan2(a, b), np.arccos(np.minimum(ratio, 1.0))
    return (np.maximum(-90.0, np.degrees(middle - half)),
            np.minimum(90.0, np.degrees(middle + half)), ratio > 1)


def _inside_rows(circle: Circle, edges: NDArray[np.float64]) -> tuple[Ints, Ints]:
    """First and last finest rows of each column wholly inside (grid.inside_range's rule)."""
    south, north, none = _meridian_spans(circle, edges, circle.radius_m - INSIDE_MARGIN_M)
    low = np.maximum(south[:-1], south[1:])
    high = np.minimum(north[:-1], north[1:])
    n = float(1 << FINEST)
    first = np.ceil(grid.ys_of(high) * n + grid.INSIDE_MARGIN).astype(np.int64)
    last = np.floor(grid.ys_of(low) * n - grid.INSIDE_MARGIN).astype(np.int64) - 1
    empty = none[:-1] | none[1:] | (first > last)
    return np.where(empty, 0, first), np.where(empty, -1, last)


def _touched_rows(circle: Circle, edges: NDArray[np.float64]) -> tuple[Ints, Ints]:
    """First and last finest rows of each column that may hold points of the circle.

    Within a column the circle reaches farthest north and south on the meridian nearest
    its centre (its edges there move towards the centre's latitude with the longitude).
    """
    nearest = np.clip(circle.lon, edges[:-1], edges[1:])
    south, north, none = _meridian_spans(circle, nearest, circle.radius_m + INSIDE_MARGIN_M)
    n, last = float(1 << FINEST), (1 << FINEST) - 1
    first = np.clip(np.floor(grid.ys_of(north) * n), 0, last).astype(np.int64)
    final = np.clip(np.floor(grid.ys_of(south) * n), 0, last).astype(np.int64)
    return np.where(none, 0, first), np.where(none, -1, final)


def _coarser(first: int, low: Ints, high: Ints, factor: int) -> tuple[int, Ints, Ints]:
    """The rows of the next coarser level (`factor` finer columns and rows to a cell).

    A coarser cell is inside when all its finer cells are: a coarser column that the finer
    columns do not wholly cover has none inside (an empty finer column is (0, -1)).
    """
    before = first % factor
    after = -(before + len(low)) % factor
    low = np.pad(low, (before, after), constant_values=0).reshape(-1, factor).max(axis=1)
    high = np.pad(high, (before, after), constant_values=-1).reshape(-1, factor).min(axis=1)
    coarse_low, coarse_high = -(-low // factor), (high + 1) // factor - 1
    empty = coarse_low > coarse_high
    return first // factor, np.where(empty, 0, coarse_low), np.where(empty, -1, coarse_high)


def _runs(level: int, first: int, low: Ints, high: Ints, covered: tuple[Ints, Ints]
          ) -> list[Run]:
    """The runs of each column's rows outside the rows `covered` (same columns)."""
    cover_low, cover_high = covered
    uncovered = cover_low > cover_high
    north_high = np.where(uncovered, high, np.minimum(high, cover_low - 1))
    south_low = np.where(uncovered, high + 1, np.maximum(low, cover_high + 1))
    north = np.flatnonzero(low <= north_high)
    south = np.flatnonzero(south_low <= high)
    return [*map(Run, [level] * len(north), (north + first).tolist(), low[north].tolist(),
                 north_high[north].tolist()),
            *map(Run, [level] * len(south), (south + first).tolist(), south_low[south].tolist(),
                 high[south].tolist())]


def _by_level(first: int, low: Ints, high: Ints) -> list[Run]:
    """The finest inside rows as runs, each at the coarsest stored level that holds it."""
    levels = [(FINEST, first, low, high)]
    for finer, coarser in zip(grid.ALL_LEVELS[:0:-1], grid.ALL_LEVELS[-2::-1], strict=True):
        column, rows_low, rows_high = _coarser(*levels[-1][1:], 1 << (finer - coarser))
        levels.append((coarser, column, rows_low, rows_high))
    found: list[Run] = []
    parent: tuple[int, int, Ints, Ints] | None = None
    for level, column, rows_low, rows_high in reversed(levels):
        covered = (np.zeros_like(rows_low), np.full_like(rows_high, -1))
        if parent is not None:
            factor = 1 << (level - parent[0])
            above = (column + np.arange(len(rows_low))) // factor - parent[1]
            above_low, above_high = parent[2][above], parent[3][above]
            empty = above_low > above_high
            covered = (np.where(empty, 0, above_low * factor),
                       np.where(empty, -1, (above_high + 1) * factor - 1))
        found += _runs(level, column, rows_low, rows_high, covered)
        parent = (level, column, rows_low, rows_high)
    return found


def cover(circle: Circle) -> Cover:
    """The circle's inside runs (each at the coarsest stored level) and its rim pieces."""
    n = 1 << FINEST
    columns = grid.touched_range(bbox_around(circle.lat, circle.lon, circle.radius_m), FINEST)
    first = columns.x_min
    edges = np.arange(first, columns.x_max + 2, dtype=np.float64) / n * 360.0 - 180.0
    inside = _inside_rows(circle, edges)
    touched = _touched_rows(circle, edges)
    rim = _runs(FINEST, first, *touched, inside)
    rim.sort(key=lambda run: (run.cx, run.cy_min))
    return Cover(_by_level(first, *inside), rim, first,
                 list(zip(inside[0].tolist(), inside[1].tolist(), strict=True)),
                 list(zip(touched[0].tolist(), touched[1].tolist(), strict=True)))
