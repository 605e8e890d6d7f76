"""Exact counts, clusters and facets of a filtered view, read from the aggregates.

A box is cut into pieces whose counts are cheap and exact:

- at the display level, the cells wholly inside the box, from `organisation_cell`;
- at each finer level stored for every dimension read (`aggregates.levels_of`), the ring
  of cells wholly inside the box that the coarser level did not cover (a few cells wide,
  so a few index range scans); cells finer than the display level are shifted onto it;
- the strip left between the finest inside cells and the box's edges, counted live from
  the organisation table through the spatial filter (`queries.filter_conditions`).

Each structure of the box is in exactly one piece, so the pieces add up to the exact
count. A text filter cannot be pre-aggregated: it is counted and grouped live over the
matching rows. A display level finer than the finest level stored for what is read (with
no filter or one sector, level 16: from zoom 15; else level 12: from zoom 11) is grouped
live too: the box is small.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, bindparam, func, or_, select
from sqlmodel import Session

from app import grid
from app.aggregates import (
    ALL,
    CATEGORIES,
    CELL_TABLE,
    LEGAL_FORM,
    SECTOR,
    SECTOR_FORM,
    SET_TABLE,
    legal_form_expression,
    levels_of,
    micro_degrees,
)
from app.count_cache import cached_count
from app.dialects import strategy_for
from app.dialects.elements import LatitudeStrip, LongitudeStrip, WithinBox
from app.grid import CellRange
from app.models import STATUSES, Organisation
from app.queries import BBox, OrganisationFilter, filter_conditions
from app.taxonomy import LegalForm
from geocode.normalize import fold

# Cells are 64 to 128 screen pixels wide: a tile (256 px) holds 2 × 2 to 4 × 4 of them.
CELL_ZOOM_OFFSET = 2
# No answer covers more cells than this (a coarser level is used instead).
MAX_CELLS = 1024
WORLD = BBox(-180.0, -90.0, 180.0, 90.0)
_ORGANISATION = Organisation.__table__  # type: ignore[attr-defined]
# Degrees added around the live strips before the exact cell test decides.
_STRIP_MARGIN = 1e-7
# Up to this many values, a cell range is an IN list, so an index seeks each one.
_SEEK_VALUES = 8


@dataclass(frozen=True)
class Spec:
    """Which aggregate rows a count reads: a dimension, and the values it keeps.

    `values` None keeps every value; `any_sector_of` keeps the `categories` strings holding
    one of these sectors (a union of sectors, each structure once).
    """

    dimension: str
    values: tuple[str, ...] | None = None
    any_sector_of: tuple[str, ...] = ()

    def conditions(self, table: Table = CELL_TABLE) -> list[ColumnElement[bool]]:
        """SQL conditions on organisation_cell (or organisation_area: same kinds)."""
        cells = table.c
        conditions = [cells.dimension == self.dimension]
        if self.values is not None:
            conditions.append(cells.value.in_(self.values))
        if self.any_sector_of:
            sets = select(SET_TABLE.c.categories).where(
                SET_TABLE.c.category.in_(self.any_sector_of))
            conditions.append(cells.value.in_(sets))
        return conditions

    def live_values(self, categories: str, legal_form: str) -> list[str]:
        """The values a structure counts for (as aggregates.py files it), those kept."""
        sectors = sectors_of(categories)
        values = {
            ALL: [""], SECTOR: sectors, LEGAL_FORM: [legal_form], CATEGORIES: [categories],
            SECTOR_FORM: [f"{sector}|{legal_form}" for sector in sectors],
        }[self.dimension]
        if self.values is not None:
            values = [value for value in values if value in self.values]
        if self.any_sector_of:
            values = [value for value in values
                      if not set(self.any_sector_of).isdisjoint(sectors_of(value))]
        return values


@dataclass
class Tally:
    """Structures added up: how many, id and coordinate sums, bounds."""

    n: int = 0
    sum_id: int = 0
    sum_lat_e6: int = 0
    sum_lon_e6: int = 0
    min_lat: float = 90.0
    min_lon: float = 180.0
    max_lat: float = -90.0
    max_lon: float = -180.0
    sectors: dict[str, int] = field(default_factory=dict)

    def add(self, values: tuple[Any, ...]) -> None:
        """Add one grouped row (n, sums, bounds)."""
        n, sum_id, sum_lat, sum_lon, min_lat, min_lon, max_lat, max_lon = values
        self.n += int(n)
        self.sum_id += int(sum_id)
        self.sum_lat_e6 += int(sum_lat)
        self.sum_lon_e6 += int(sum_lon)
        self.min_lat, self.min_lon = min(self.min_lat, min_lat), min(self.min_lon, min_lon)
        self.max_lat, self.max_lon = max(self.max_lat, max_lat), max(self.max_lon, max_lon)

    def merge(self, other: Tally) -> None:
        """Add another tally's structures (not its sectors)."""
        self.add((other.n, other.sum_id, other.sum_lat_e6, other.sum_lon_e6, other.min_lat,
                  other.min_lon, other.max_lat, other.max_lon))


@dataclass(frozen=True)
class Cluster:
    """The structures of one display cell: count, centre, bounds, count per sector."""

    level: int
    cx: int
    cy: int
    tally: Tally

    @property
    def centre(self) -> tuple[float, float]:
        """(lat, lon) of the members' mean."""
        return (self.tally.sum_lat_e6 / self.tally.n / 1e6,
                self.tally.sum_lon_e6 / self.tally.n / 1e6)


@dataclass(frozen=True)
class ClusterView:
    """Clusters of a view, the structures that stand alone, and the exact total."""

    level: int
    clusters: list[Cluster]
    singles: list[dict[str, Any]]
    number_matched: int


@dataclass(frozen=True)
class Facets:
    """The total, and counts per sector and per legal form (each without its own filter)."""

    number_matched: int
    categories: dict[str, int]
    legal_forms: dict[str | None, int]


# --------------------------------------------------------------------- levels


def display_level(zoom: int, bbox: BBox | None) -> int:
    """The grid level clusters are shown at for a zoom, coarser if the box has too many cells.

    Up to grid.FINEST, a level stored for every dimension; finer, zoom + 2 whatever is
    stored (cells finer than it are shifted onto it, what is finer than any stored level is
    grouped live), so the clusters of a view are the same whatever the filters.
    """
    wanted = zoom + CELL_ZOOM_OFFSET
    level = wanted if wanted > grid.FINEST else _stored_at_most(wanted)
    while level > grid.LEVELS[0] and _cells_touched(bbox or WORLD, level) > MAX_CELLS:
        level = _stored_at_most(level - 1) if level <= grid.FINEST + 1 else level - 1
    return level


def _stored_at_most(level: int) -> int:
    """The finest stored level not finer than `level` (the coarsest one at least)."""
    return max([stored for stored in grid.LEVELS if stored <= level], default=grid.LEVELS[0])


def _cells_touched(bbox: BBox, level: int) -> int:
    """How many cells of `level` a box touches."""
    return sum(grid.touched_range(box, level).size() for box in grid.split_at_antimeridian(bbox))


# --------------------------------------------------------------------- pieces
#
# Every view cuts its box into its own cell ranges and strips, but into pieces of a few
# shapes only. Each piece is a statement of its shape, built once and kept (its SQLAlchemy
# cache key with it), and the values of its ranges and strips, bound when it runs:
# building a few dozen statements per view cost as much as running them. The aggregate
# pieces (most of a view's statements; integers and texts only) go further: each is
# compiled once per dialect into the driver's own SQL and run through the driver, which
# spares SQLAlchemy's per-execution work (parameter processing, result set-up).


class DriverStatement:
    """A kept statement of plain values, compiled once per dialect, run as the driver's SQL."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        # dialect name -> (SQL, positional parameter names or None, values compiled in)
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def rows(self, connection: Connection, parameters: dict[str, Any]) -> Sequence[Any]:
        """Every row, with `parameters` bound (the statement's own values otherwise)."""
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self._compile(dialect)
        sql, names, values = compiled
        values = values | parameters
        bound = tuple(values[name] for name in names) if names is not None else values
        return connection.exec_driver_sql(sql, bound).all()

    def _compile(self, dialect: Any) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        # The statement's IN lists have fixed values (a spec's): rendered into the SQL.
        compiled = self.statement.compile(dialect=dialect,
                                          compile_kwargs={"render_postcompile": True})
        names = tuple(compiled.positiontup or ()) if dialect.positional else None
        return compiled.string, names, dict(compiled.params)


@dataclass(frozen=True)
class BoundQuery:
    """A kept statement and the values of its named parameters for one piece."""

    statement: Select[Any] | DriverStatement
    parameters: dict[str, Any]


def _seek_count(low: int, high: int) -> int:
    """How many cells an IN list of the range holds (0: read as BETWEEN, an index range)."""
    return high - low + 1 if high - low < _SEEK_VALUES else 0


def _range_condition(column: Any, name: str, seek_count: int) -> ColumnElement[bool]:
    """A cell index within a range bound later: an IN list of `seek_count`, else BETWEEN."""
    def cell(key: str) -> Any:
        # A value to compile with (DriverStatement renders the spec's IN lists then): the
        # piece's own replaces it.
        return bindparam(f"{name}_{key}", 0)

    condition: ColumnElement[bool] = (
        column.in_([cell(f"cell_{index}") for index in range(seek_count)]) if seek_count
        else column.between(cell("min"), cell("max")))
    return condition


def _range_values(name: str, low: int, high: int) -> dict[str, Any]:
    """The parameters of `_range_condition` for the range [low, high]."""
    if _seek_count(low, high):
        return {f"{name}_cell_{index}": cell for index, cell in enumerate(range(low, high + 1))}
    return {f"{name}_min": low, f"{name}_max": high}


@cache  # built once: statements are made on every request
def _totals(table: Any) -> list[ColumnElement[Any]]:
    """SQL: count, id and coordinate sums, bounds of grouped structure rows."""
    return [func.count(), func.sum(table.c.id), func.sum(micro_degrees(table.c.lat)),
            func.sum(micro_degrees(table.c.lon)), func.min(table.c.lat),
            func.min(table.c.lon), func.max(table.c.lat), func.max(table.c.lon)]


@cache
def _cell_totals() -> list[ColumnElement[Any]]:
    """SQL: the same totals over aggregate rows."""
    cells = CELL_TABLE.c
    return [func.sum(cells.n), func.sum(cells.sum_id), func.sum(cells.sum_lat_e6),
            func.sum(cells.sum_lon_e6), func.min(cells.min_lat), func.min(cells.min_lon),
            func.max(cells.max_lat), func.max(cells.max_lon)]


def _cell_piece(
    cells: CellRange | None, level: int, display: int | None, spec: Spec, *, bounds: bool
) -> BoundQuery:
    """Aggregate rows of a cell range at `level`: (display cell?, value, totals or count).

    Without `bounds`, the count alone (no sums, no bounds: less to read and to add up).
    """
    if cells is None:
        return BoundQuery(_cell_statement(level, display, spec, bounds, None), {})
    shape = (_seek_count(cells.x_min, cells.x_max), _seek_count(cells.y_min, cells.y_max))
    return BoundQuery(_cell_statement(level, display, spec, bounds, shape),
                      {**_range_values("x", cells.x_min, cells.x_max),
                       **_range_values("y", cells.y_min, cells.y_max)})


@lru_cache(maxsize=1024)
def _cell_statement(level: int, display: int | None, spec: Spec, bounds: bool,
                    shape: tuple[int, int] | None) -> DriverStatement:
    """The statement of `_cell_piece`: `shape` gives its IN lists' lengths (0: BETWEEN)."""
    table = CELL_TABLE.c
    keys: list[ColumnElement[Any]] = []
    if display is not None:
        shift = level - display
        # Unshifted, the grouping follows the primary key: no sort needed.
        keys += ([table.cx, table.cy] if shift == 0
                 else [table.cx.op(">>")(shift), table.cy.op(">>")(shift)])
    keys.append(table.value)
    conditions = [table.level == level, *spec.conditions()]
    if shape is not None:
        conditions += [_range_condition(table.cx, "x", shape[0]),
                       _range_condition(table.cy, "y", shape[1])]
    totals = _cell_totals() if bounds else _cell_totals()[:1]
    return DriverStatement(select(*keys, *totals).where(*conditions).group_by(*keys))


def _live_piece(part: LivePart, filters: OrganisationFilter, display: int | None) -> BoundQuery:
    """Structure rows of a live part: (display cell?, categories, legal form, totals)."""
    # Sector and legal-form filters are applied to the grouped rows (`_kind_matches`): in
    # SQL their membership subquery would drive the plan instead of the spatial filter.
    loose = replace(filters, bbox=None, categories=(), legal_forms=())
    statement = _live_statement(loose, display, *part.edge_shape)
    return BoundQuery(statement, part.parameters())


@lru_cache(maxsize=256)
def _live_statement(filters: OrganisationFilter, display: int | None, side: str | None,
                    level: int | None) -> Select[Any]:
    """The statement of `_live_piece`, for filters without a box (the part's box is bound)."""
    table = _ORGANISATION
    keys: list[ColumnElement[Any]] = []
    if display is not None:
        keys += list(grid.point_cell(table.c.lon, table.c.lat, display))
    keys += [table.c.categories, legal_form_expression(table)]
    conditions = _live_conditions(filters, side, level)
    return select(*keys, *_totals(table)).where(*conditions).group_by(*keys)


@lru_cache(maxsize=256)
def _live_count_statement(filters: OrganisationFilter, side: str | None,
                          level: int | None) -> Select[Any]:
    """COUNT of the structures of a live part, for filters without a box."""
    return select(func.count()).where(*_live_conditions(filters, side, level))


def _live_conditions(filters: OrganisationFilter, side: str | None, level: int | None
                     ) -> list[ColumnElement[bool]]:
    """The filters, the part's box and its edge conditions (both bound later).

    An edge strip tests the status itself (`StripBox`): it exists beside the aggregates,
    which count active structures only.
    """
    box = _BOX_KINDS[side](*(bindparam(name) for name in LivePart.BOX_PARAMETERS))
    if side is not None:
        if not filters.active_only:
            raise ValueError("edge strips are counted beside active-only aggregates")
        filters = replace(filters, statuses=STATUSES)
    return [*filter_conditions(filters), box, *_edge_conditions(side, level)]


# A live part's box: a whole box, or an edge strip less than a covered cell across
# (`_edge_strips`), in latitude north and south of the covered cells, else in longitude.
_BOX_KINDS: dict[str | None, type[WithinBox]] = {
    None: WithinBox, "north": LatitudeStrip, "south": LatitudeStrip,
    "west": LongitudeStrip, "east": LongitudeStrip}


def _ring(inside: CellRange, inner: CellRange) -> Iterator[CellRange]:
    """The cells of `inside` outside `inner` (which it contains), as four strips."""
    level = inside.level
    strips = (
        CellRange(level, inside.x_min, inner.x_min - 1, inside.y_min, inside.y_max),
        CellRange(level, inner.x_max + 1, inside.x_max, inside.y_min, inside.y_max),
        CellRange(level, inner.x_min, inner.x_max, inside.y_min, inner.y_min - 1),
        CellRange(level, inner.x_min, inner.x_max, inner.y_max + 1, inside.y_max),
    )
    return (strip for strip in strips if not strip.empty)


def _clipped(box: BBox, min_lon: float, min_lat: float, max_lon: float, max_lat: float
             ) -> BBox | None:
    """The part of `box` inside the given bounds, or None."""
    clipped = BBox(max(box.min_lon, min_lon), max(box.min_lat, min_lat),
                   min(box.max_lon, max_lon), min(box.max_lat, max_lat))
    if clipped.min_lon > clipped.max_lon or clipped.min_lat > clipped.max_lat:
        return None
    return clipped


def _margins(covered: CellRange) -> dict[str, float]:
    """The covered cells' edges moved _STRIP_MARGIN inward (inner_*) and outward (outer_*)."""
    edges, m = grid.cell_box(covered), _STRIP_MARGIN
    return {"inner_west": edges.min_lon + m, "inner_east": edges.max_lon - m,
            "inner_south": edges.min_lat + m, "inner_north": edges.max_lat - m,
            "outer_west": edges.min_lon - m, "outer_east": edges.max_lon + m,
            "outer_south": edges.min_lat - m, "outer_north": edges.max_lat + m}


def _edge_strips(box: BBox, covered: CellRange) -> Iterator[tuple[BBox, Edge]]:
    """The parts of a box outside the covered cells: (search box, which side of them)."""
    m = _margins(covered)
    strips = (
        (_clipped(box, -180, -90, m["inner_west"], 90), "west"),
        (_clipped(box, m["inner_east"], -90, 180, 90), "east"),
        (_clipped(box, m["outer_west"], m["inner_north"], m["outer_east"], 90), "north"),
        (_clipped(box, m["outer_west"], -90, m["outer_east"], m["inner_south"]), "south"),
    )
    return ((strip, Edge(side, covered)) for strip, side in strips if strip is not None)


@dataclass(frozen=True)
class Edge:
    """The points of a strip beside covered cells: those on `side` of them, by cell."""

    side: str
    covered: CellRange

    @property
    def level(self) -> int:
        """The level of the covered cells."""
        return self.covered.level


def _edge_conditions(side: str | None, level: int | None) -> list[ColumnElement[bool]]:
    """SQL: the exact cell test of an edge strip, the covered range bound later.

    A point's cell column grows with its longitude and its row falls with its latitude, so
    a point farther than _STRIP_MARGIN beyond the covered cells' edge is beyond their cells:
    the cell (a logarithm and a tangent per point) is computed only within the margin.
    """
    if side is None or level is None:
        return []
    table = _ORGANISATION
    lon, lat = table.c.lon, table.c.lat
    cx, cy = grid.point_cell(lon, lat, level)
    across = or_(lon.between(bindparam("inner_west"), bindparam("inner_east")),
                 cx.between(bindparam("covered_x_min"), bindparam("covered_x_max")))
    return {
        "west": [or_(lon < bindparam("outer_west"), cx < bindparam("covered_x_min"))],
        "east": [or_(lon > bindparam("outer_east"), cx > bindparam("covered_x_max"))],
        "north": [across, or_(lat > bindparam("outer_north"), cy < bindparam("covered_y_min"))],
        "south": [across, or_(lat < bindparam("outer_south"), cy > bindparam("covered_y_max"))],
    }[side]


@dataclass(frozen=True)
class LivePart:
    """A part of a box counted from the organisation table: its box, and its edge if any."""

    BOX_PARAMETERS = ("box_min_lat", "box_max_lat", "box_min_lon", "box_max_lon")

    box: BBox
    edge: Edge | None

    @property
    def edge_shape(self) -> tuple[str | None, int | None]:
        """What its statement's shape depends on: the edge's side and level (None: no edge)."""
        return (self.edge.side, self.edge.level) if self.edge else (None, None)

    def parameters(self) -> dict[str, Any]:
        """The values of the part's box and covered range in its statement."""
        box = self.box
        found = dict(zip(self.BOX_PARAMETERS,
                         (box.min_lat, box.max_lat, box.min_lon, box.max_lon), strict=True))
        if self.edge is not None:
            covered = self.edge.covered
            found |= {"covered_x_min": covered.x_min, "covered_x_max": covered.x_max,
                      "covered_y_min": covered.y_min, "covered_y_max": covered.y_max,
                      **_margins(covered)}
        return found


# An aggregate query and the index of its spec, or a part counted live.
Piece = tuple[BoundQuery, int] | LivePart


def _box_pieces(
    box: BBox, filters: OrganisationFilter, display: int | None,
    specs: tuple[Spec, ...] | None, bounds: bool = False,
) -> list[Piece]:
    """The queries whose rows add up to the structures of a box (not crossing ±180°).

    `specs` None: everything is counted live. `display` None: no display cells. `bounds`:
    the first spec's rows bring sums and bounds, the others only counts.
    """
    level_from = grid.LEVELS[0] if display is None else display
    if specs is None or level_from > _levels_of(specs)[-1]:
        return [LivePart(box, None)]
    pieces: list[Piece] = []
    covered: CellRange | None = None
    for level in (stored for stored in _levels_of(specs) if stored >= level_from):
        inside = grid.inside_range(box, level)
        if inside.empty:
            continue
        strips = [inside] if covered is None else list(_ring(inside, covered.scaled(level)))
        pieces += [(_cell_piece(strip, level, display, spec, bounds=bounds and index == 0),
                     index) for strip in strips for index, spec in enumerate(specs)]
        covered = inside
    if covered is None:
        return [*pieces, LivePart(box, None)]
    return pieces + [LivePart(strip, edge) for strip, edge in _edge_strips(box, covered)]


def _levels_of(specs: tuple[Spec, ...]) -> tuple[int, ...]:
    """The levels stored for every spec's dimension, coarsest first."""
    return _common_levels(frozenset(spec.dimension for spec in specs))


@cache  # keyed by dimensions only (a handful), not by the specs' filter values
def _common_levels(dimensions: frozenset[str]) -> tuple[int, ...]:
    """The levels stored for all of these dimensions, coarsest first."""
    return tuple(sorted(set.intersection(*(set(levels_of(each)) for each in dimensions))))


# Statements hold no data: the same view asked again reuses them (and SQLAlchemy the cache
# key each one memoizes) instead of building a few dozen statements per request.
@lru_cache(maxsize=256)
def _pieces(
    filters: OrganisationFilter, display: int | None, specs: tuple[Spec, ...] | None,
    bounds: bool = False,
) -> tuple[Piece, ...]:
    """The queries whose rows add up to the structures matching the filters."""
    whole_level = grid.LEVELS[0] if display is None else display
    if filters.bbox is None and specs is not None and whole_level in _levels_of(specs):
        return tuple((_cell_piece(None, whole_level, display, spec,
                                  bounds=bounds and index == 0), index)
                     for index, spec in enumerate(specs))
    boxes = grid.split_at_antimeridian(filters.bbox or WORLD)
    return tuple(piece for box in boxes
                 for piece in _box_pieces(box, filters, display, specs, bounds))


Tallies = list[defaultdict[tuple[Any, ...], Tally]]


def _run(connection: Connection, query: BoundQuery) -> Sequence[Any]:
    """Every row of a piece's statement with its values bound."""
    if isinstance(query.statement, DriverStatement):
        return query.statement.rows(connection, query.parameters)
    return connection.execute(query.statement, query.parameters).all()


def _kind_matches(filters: OrganisationFilter, categories: str, legal_form: str) -> bool:
    """The sector and legal-form filters, on a stored categories string and legal form."""
    if filters.categories and set(filters.categories).isdisjoint(sectors_of(categories)):
        return False
    return not filters.legal_forms or legal_form in _stored_forms(filters)


def _tallies(
    session: Session, filters: OrganisationFilter, display: int | None, specs: list[Spec],
    *, live: bool, bounds: bool = False,
) -> Tallies:
    """For each spec: a Tally per (display cell, value), or per (value,) without `display`.

    `live`: the aggregates cannot express the filters; count from the organisation table.
    `bounds`: the first spec's tallies get sums and bounds; the others (and every one
    without it) only their counts, `n`.
    """
    tallies: Tallies = [defaultdict(Tally) for _ in specs]
    cell_width = 0 if display is None else 2
    connection = session.connection()
    for piece in _pieces(filters, display, None if live else tuple(specs), bounds):
        if isinstance(piece, LivePart):
            query = _live_piece(piece, filters, display)
            _add_live(tallies, _run(connection, query), filters, specs, cell_width)
        else:
            _add_cells(tallies[piece[1]], _run(connection, piece[0]), cell_width)
    return tallies


def _add_cells(tallies: defaultdict[tuple[Any, ...], Tally], rows: Sequence[Any],
               cell_width: int) -> None:
    """Add aggregate rows (display cell?, value, totals or count) to one spec's tallies."""
    for result in rows:
        row: tuple[Any, ...] = tuple(result)
        key = row[:cell_width + 1]
        if len(row) == cell_width + 2:
            if row[-1]:
                tallies[key].n += int(row[-1])
        elif row[-8]:
            tallies[key].add(row[-8:])


def _add_live(tallies: Tallies, rows: Sequence[Any], filters: OrganisationFilter,
              specs: list[Spec], cell_width: int) -> None:
    """Add grouped structure rows (display cell?, categories, legal form, totals) to the specs.

    Only the rows the sector and legal-form filters keep.
    """
    for result in rows:
        row: tuple[Any, ...] = tuple(result)
        if not row[-8]:
            continue
        cell, totals = row[:cell_width], row[-8:]
        categories, legal_form = row[cell_width], row[cell_width + 1]
        if not _kind_matches(filters, categories, legal_form):
            continue
        for index, each in enumerate(specs):
            for value in each.live_values(categories, legal_form):
                tallies[index][(*cell, value)].add(totals)


# --------------------------------------------------------------------- specs


def sectors_of(categories: str) -> list[str]:
    """The sector slugs of a stored `categories` string."""
    return [slug for slug in categories.split("|") if slug]


def _stored_forms(filters: OrganisationFilter) -> tuple[str, ...]:
    """The legal-form filter as stored (enum names)."""
    return tuple(LegalForm(value).name for value in filters.legal_forms)


def _expressible(filters: OrganisationFilter) -> bool:
    """True when the aggregates can count these filters: active only, no text/SIREN/place/time."""
    return (filters.active_only and not filters.sirens
            and not (filters.text or filters.regions or filters.departements
                     or filters.updated_since or filters.updated_until))


def total_spec(filters: OrganisationFilter) -> Spec | None:
    """The aggregate rows that count the structures matching the filters (None: live)."""
    forms, sectors = _stored_forms(filters), filters.categories
    if not _expressible(filters) or (len(sectors) > 1 and forms):
        return None
    if not sectors:
        return Spec(LEGAL_FORM, forms) if forms else Spec(ALL)
    if len(sectors) == 1:
        return Spec(SECTOR_FORM, tuple(f"{sectors[0]}|{form}" for form in forms)
                    ) if forms else Spec(SECTOR, sectors)
    return Spec(CATEGORIES, any_sector_of=sectors)


def _sector_spec(filters: OrganisationFilter, known: Iterable[str]) -> Spec:
    """Counts per sector of the matching structures (only the selected sectors, if any)."""
    forms = _stored_forms(filters)
    if not forms:
        return Spec(SECTOR, filters.categories or None)
    return Spec(SECTOR_FORM, tuple(f"{sector}|{form}" for sector in filters.categories or known
                                   for form in forms))


def _form_spec(filters: OrganisationFilter) -> Spec:
    """Counts per legal form of the structures matching the filters but the legal form."""
    if len(filters.categories) == 1:
        every = [*(form.name for form in LegalForm), ""]
        return Spec(SECTOR_FORM, tuple(f"{filters.categories[0]}|{form}" for form in every))
    return Spec(LEGAL_FORM)


def _known_sectors(session: Session) -> list[str]:
    """Every sector a stored structure has."""
    query = select(SET_TABLE.c.category).distinct()
    return list(session.connection().execute(query).scalars())


# --------------------------------------------------------------------- answers


def number_matched(*, session: Session, filters: OrganisationFilter) -> int:
    """The exact number of structures matching the filters (with a text: kept per version)."""
    if filters.text:
        return cached_count(session.connection(), f"number_matched {filters!r}",
                            lambda: _number_matched(session, filters))
    return _number_matched(session, filters)


def _number_matched(session: Session, filters: OrganisationFilter) -> int:
    """The exact number of structures matching the filters, counted now."""
    spec = total_spec(filters)
    if filters.text and filters == OrganisationFilter(text=filters.text):
        connection = session.connection()
        return strategy_for(connection.dialect.name).count_text(connection, fold(filters.text))
    if spec is None and not filters.bbox:
        query = select(func.count()).select_from(_ORGANISATION).where(*filter_conditions(filters))
        return int(session.connection().execute(query).scalar_one())
    if spec == Spec(ALL):
        return _count_all(session, filters)
    [counted] = _tallies(session, filters, None, [spec or Spec(ALL)], live=spec is None)
    return sum(tally.n for tally in counted.values())


def _count_all(session: Session, filters: OrganisationFilter) -> int:
    """How many structures a view holds with no filter but its box: cells, then edges.

    The edges are counted on the rows (the R*Tree alone would count closed structures too);
    the finest cells leave them only a strip about a hundred metres wide.
    """
    connection = session.connection()
    total = 0
    unboxed = replace(filters, bbox=None)
    for piece in _pieces(filters, None, (Spec(ALL),)):
        if isinstance(piece, LivePart):
            query = BoundQuery(_live_count_statement(unboxed, *piece.edge_shape),
                               piece.parameters())
            total += int(_run(connection, query)[0][0])
        else:
            cells, _ = piece
            total += sum(int(tuple(row)[-1] or 0) for row in _run(connection, cells))
    return total


def clusters(*, session: Session, filters: OrganisationFilter, zoom: int) -> ClusterView:
    """The structures of the view grouped by display cell; cells of one are given whole."""
    level = display_level(zoom, filters.bbox)
    spec = total_spec(filters)
    mix = _sector_spec(filters, _known_sectors(session) if filters.legal_forms else ())
    totals, by_sector = _tallies(session, filters, level, [spec or Spec(ALL), mix],
                                 live=spec is None, bounds=True)
    cells: defaultdict[tuple[int, int], Tally] = defaultdict(Tally)
    for (cx, cy, _), tally in totals.items():  # each structure has one value of a total spec
        cells[(cx, cy)].merge(tally)
    for (cx, cy, value), tally in by_sector.items():
        sectors, sector = cells[(cx, cy)].sectors, value.split("|")[0]
        sectors[sector] = sectors.get(sector, 0) + tally.n
    found = [Cluster(level, cx, cy, tally) for (cx, cy), tally in sorted(cells.items())]
    singles = structures_by_id(session=session,
                               ids=[c.tally.sum_id for c in found if c.tally.n == 1])
    return ClusterView(level, [c for c in found if c.tally.n > 1], singles,
                       sum(c.tally.n for c in found))


SINGLE_COLUMNS = ("id", "name", "categories", "legal_form", "city", "geocode_precision",
                  "lat", "lon")


def structures_by_id(*, session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """A few public columns of the structures with these ids, in id order."""
    table, found = _ORGANISATION, []
    for start in range(0, len(ids), 900):
        query = select(*(table.c[name] for name in SINGLE_COLUMNS)).where(
            table.c.id.in_(ids[start : start + 900]))
        found += [dict(zip(SINGLE_COLUMNS, row, strict=True))
                  for row in session.connection().execute(query)]
    return sorted(found, key=lambda row: int(row["id"]))


def facets(*, session: Session, filters: OrganisationFilter, sectors: Iterable[str]) -> Facets:
    """The total, counts per sector and per legal form, each without its own filter."""
    sectors = list(sectors)
    by_sector = dict.fromkeys(sectors, 0)
    by_form: dict[str | None, int] = {form: 0 for form in [*(f.value for f in LegalForm), None]}
    unsectored = replace(filters, categories=())
    unformed = replace(filters, legal_forms=())
    if filters.text or filters.categories or filters.legal_forms:
        total = number_matched(session=session, filters=filters)
        [per_sector] = _facet(session, unsectored, [_sector_spec(unsectored, sectors)])
        [per_form] = _facet(session, unformed, [_form_spec(unformed)])
    else:  # the three counts have the same filters: one pass over the box's pieces
        everything, per_sector, per_form = _facet(
            session, filters, [Spec(ALL), _sector_spec(filters, sectors), _form_spec(filters)])
        total = sum(tally.n for tally in everything.values())
    for (value,), tally in per_sector.items():
        slug = value.split("|")[0]
        by_sector[slug] = by_sector.get(slug, 0) + tally.n
    for (value,), tally in per_form.items():
        stored = value.rsplit("|", 1)[-1]
        form = LegalForm[stored].value if stored else None
        by_form[form] = by_form.get(form, 0) + tally.n
    return Facets(total, by_sector, by_form)


def _facet(session: Session, filters: OrganisationFilter, specs: list[Spec]) -> Tallies:
    """Counts per value of each spec: from the aggregates when the filters allow it."""
    expressible = _expressible(filters) and len(filters.categories) <= 1
    return _tallies(session, filters, None, specs, live=not expressible)


def spatial_extent(*, session: Session) -> BBox | None:
    """Bounds that contain every structure, from the coarsest aggregate cells (None: empty).

    The cells' bounds only grow, so after deletions this may be wider than the data.
    """
    cells = CELL_TABLE.c
    query = select(func.min(cells.min_lon), func.min(cells.min_lat), func.max(cells.max_lon),
                   func.max(cells.max_lat)).where(
        cells.level == grid.LEVELS[0], cells.dimension == ALL, cells.n > 0)
    bounds = session.connection().execute(query).one()
    return None if bounds[0] is None else BBox(*map(float, bounds))
