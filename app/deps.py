"""Request parsing shared by routers: query text -> typed objects, strictly.

Unknown query parameters are an error, never ignored.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from functools import wraps
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BeforeValidator
from sqlalchemy import Engine
from sqlmodel import Session

from app import regions
from app.config import Settings
from app.errors import InvalidParameter
from app.models import ACTIVE, STATUSES
from app.queries import MIN_TEXT_LENGTH, BBox, OrganisationFilter, PageOrder
from app.rfc3339 import parse_instant
from app.taxonomy import LegalForm, Taxonomy
from geocode.normalize import fold

# SQLite stores integers in 64 bits: anything outside is refused before any query.
SQLITE_INTEGER_MIN = -(2**63)
SQLITE_INTEGER_MAX = 2**63 - 1
# The longest text search accepted (`q`).
Q_MAX_LENGTH = 200
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,20}")
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,3})?")


def integer_text(value: object) -> object:
    """Only ASCII digits make an integer: refuse `1_0`, other scripts' digits and spaces."""
    if isinstance(value, str) and not _INTEGER_TEXT.fullmatch(value):
        raise ValueError("must be an integer written with the ASCII digits 0-9")
    return value


def number_text(value: object) -> object:
    """Only ASCII decimal notation makes a number: no `1_0`, `inf`, `nan` or other digits."""
    if isinstance(value, str) and not _NUMBER_TEXT.fullmatch(value):
        raise ValueError("must be a decimal number written with the ASCII digits 0-9")
    return value


P = ParamSpec("P")
T = TypeVar("T")


def on_event_loop(parse: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """A parsing dependency run on the event loop, as FastAPI runs `async def` ones.

    FastAPI runs each plain `def` dependency in a worker thread; handing a few microseconds
    of parsing to a thread and back costs more than the parsing. The function itself stays
    plain, for callers outside a request (the OGC parameters, `ess-atlas export`).
    """

    @wraps(parse)
    async def parse_now(*args: P.args, **kwargs: P.kwargs) -> T:
        return parse(*args, **kwargs)

    return parse_now


async def point_read(session: Session, read: Callable[[], T]) -> T:
    """`read()` (a few index lookups, one row at most): on the event loop on SQLite.

    A worker thread costs a point read as much CPU as the read itself: 0.63 against 0.50
    ms for /api/organisations/{id} at 1,000,000 structures (bench/results.md, session 8).
    On SQLite the read is a handful of B-tree pages of a local file, and WAL readers do
    not wait for the writer, so the loop is held for about 0.1 ms. On a server database
    each statement is a network round trip of unbounded length: the read goes to a thread.
    Only reads bounded by an index belong here, never a page or a count.
    """
    if session.get_bind().dialect.name == "sqlite":
        return read()
    return await run_in_threadpool(read)


# Every numeric request parameter is one of these, so the rule above holds everywhere.
Integer = Annotated[int, BeforeValidator(integer_text)]
Number = Annotated[float, BeforeValidator(number_text)]


async def get_settings(request: Request) -> Settings:
    """The settings of the running app."""
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    """The database engine of the running app."""
    engine: Engine = request.app.state.engine
    return engine


async def get_taxonomy(request: Request) -> Taxonomy:
    """The sector taxonomy of the running app."""
    taxonomy: Taxonomy = request.app.state.taxonomy
    return taxonomy


async def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> AsyncIterator[Session]:
    """A read session for one request (opened and closed on the event loop: no I/O until used)."""
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TaxonomyDep = Annotated[Taxonomy, Depends(get_taxonomy)]


def only_parameters(*allowed: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency that rejects any query parameter not in `allowed`."""

    async def check(request: Request) -> None:
        for name in request.query_params:
            if name not in allowed:
                expected = ", ".join(sorted(allowed)) or "none"
                raise InvalidParameter(
                    f"unknown query parameter {name!r}; expected one of: {expected}",
                    parameter=name,
                )

    return check


# bbox coordinates: plain decimals, each within its axis. The OpenAPI document states
# BBOX_PATTERN, so what it promises is exactly what parse_bbox accepts (bar minLat > maxLat).
_PLAIN_DECIMAL = r"[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})"
_FRACTION = r"(\.[0-9]{0,30})?"
LONGITUDE_TEXT = rf"[+-]?(180(\.0{{0,30}})?|(1[0-7][0-9]|[1-9]?[0-9]){_FRACTION}|\.[0-9]{{1,30}})"
LATITUDE_TEXT = rf"[+-]?(90(\.0{{0,30}})?|[1-8]?[0-9]{_FRACTION}|\.[0-9]{{1,30}})"
BBOX_PATTERN = (
    "^ *" + " *, *".join((LONGITUDE_TEXT, LATITUDE_TEXT, LONGITUDE_TEXT, LATITUDE_TEXT)) + " *$"
)
_AXES = {
    "longitude": (re.compile(LONGITUDE_TEXT), "[-180, 180]"),
    "latitude": (re.compile(LATITUDE_TEXT), "[-90, 90]"),
}


def _coordinate(text: str, axis: str) -> float:
    """One bbox coordinate, or a 400 saying what is wrong with it."""
    pattern, bounds = _AXES[axis]
    cleaned = text.strip(" ")
    if not re.fullmatch(_PLAIN_DECIMAL, cleaned):
        raise InvalidParameter(f"bbox: {text!r} is not a decimal number", parameter="bbox")
    if not pattern.fullmatch(cleaned):
        raise InvalidParameter(
            f"bbox {axis}s must be within {bounds} (no leading zeros); got {text!r}",
            parameter="bbox",
        )
    return float(cleaned)


def parse_bbox(text: str) -> BBox:
    """Parse `minLon,minLat,maxLon,maxLat` in WGS84 degrees."""
    parts = text.split(",")
    if len(parts) != 4:
        raise InvalidParameter(
            f"bbox must be 4 comma-separated numbers minLon,minLat,maxLon,maxLat; got {len(parts)}",
            parameter="bbox",
        )
    axes = ("longitude", "latitude", "longitude", "latitude")
    min_lon, min_lat, max_lon, max_lat = map(_coordinate, parts, axes)
    if min_lat > max_lat:
        raise InvalidParameter("bbox minLat must not exceed maxLat", parameter="bbox")
    return BBox(min_lon, min_lat, max_lon, max_lat)


def _check_known(values: list[str], known: set[str], parameter: str) -> tuple[str, ...]:
    """Every value must be one of `known`; the error lists what is accepted."""
    for value in values:
        if value not in known:
            raise InvalidParameter(
                f"unknown {parameter} {value!r}; expected one of: {', '.join(sorted(known))}",
                parameter=parameter,
            )
    return tuple(dict.fromkeys(values))


def organisation_filter(
    taxonomy: TaxonomyDep,
    category: Annotated[list[str], Query(description="Sector slug (repeatable)")] = [],  # noqa: B006
    region: Annotated[list[str], Query(description="INSEE région code (repeatable)")] = [],  # noqa: B006
    departement: Annotated[list[str], Query(description="Département code (repeatable)")] = [],  # noqa: B006
    legal_form: Annotated[list[str], Query(description="ESS family (repeatable)")] = [],  # noqa: B006
    q: Annotated[
        str | None,
        Query(max_length=Q_MAX_LENGTH,
              description="Text (3+ characters) in name, description, city or sector; "
              "accents and case ignored, every character literal"),
    ] = None,
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat")] = None,
    status: Annotated[list[str], Query(
        description="active (the default), closed, or all (repeatable)")] = [],  # noqa: B006
    siren: Annotated[list[str], Query(
        description="SIREN: every establishment of that company or association (repeatable)")]
    = [],  # noqa: B006
) -> OrganisationFilter:
    """Parse and check the filters every listing accepts."""
    text = q.strip() if q else None
    if text and "\x00" in text:
        # SQLite ends a string at NUL: FTS5 would fail on it (a 500), LIKE would cut the text.
        raise InvalidParameter("q must not contain a NUL character", parameter="q")
    if text and len(fold(text)) < MIN_TEXT_LENGTH:
        raise InvalidParameter(
            f"q must have at least {MIN_TEXT_LENGTH} characters (accents and case ignored), "
            f"got {text!r}", parameter="q")
    return OrganisationFilter(
        categories=_check_known(category, taxonomy.slugs(), "category"),
        regions=_check_known(region, {r.code for r in regions.list_regions()}, "region"),
        departements=_check_known(
            departement, {d.code for d in regions.list_departements()}, "departement"
        ),
        legal_forms=_check_known(legal_form, {f.value for f in LegalForm}, "legal_form"),
        text=text or None,
        bbox=parse_bbox(bbox) if bbox is not None else None,
        statuses=_statuses(status),
        sirens=tuple(dict.fromkeys(_siren(value) for value in siren)),
    )


SIREN_PATTERN = "^[0-9]{9}$"


def _statuses(values: list[str]) -> tuple[str, ...]:
    """The statuses asked for: active by default, `all` for both."""
    chosen = _check_known(values, {*STATUSES, "all"}, "status") or (ACTIVE,)
    return STATUSES if "all" in chosen else chosen


def _siren(value: str) -> str:
    """A SIREN parameter: nine ASCII digits (spaces allowed); a wrong checksum matches nothing."""
    digits = value.replace(" ", "")
    if not re.fullmatch(SIREN_PATTERN, digits):
        raise InvalidParameter(f"siren must have 9 ASCII digits, got {value!r}", parameter="siren")
    return digits


# What OGC clients send as `f` for GeoJSON (OGC API – Features uses both names).
JSON_FORMATS = ("geojson", "json")


async def geojson_format(
    f: Annotated[str | None, Query(
        description="geojson or json: the answer is GeoJSON either way (OGC clients send it)",
        json_schema_extra={"enum": list(JSON_FORMATS)})] = None,
) -> None:
    """Accept `f=geojson|json`, the only format this answer has; anything else is a 400."""
    if f is not None:
        _check_known([f], set(JSON_FORMATS), "f")


FILTER_PARAMETERS = ("category", "region", "departement", "legal_form", "q", "bbox", "status",
                     "siren")
FilterDep = Annotated[OrganisationFilter, Depends(on_event_loop(organisation_filter))]


def harvest_filter(
    filters: FilterDep,
    updated_since: Annotated[
        str | None,
        Query(description="Only structures added or changed at or after this RFC 3339 "
              "date-time (UTC unless it has an offset); deletions: /api/deletions",
              json_schema_extra={"format": "date-time"}),
    ] = None,
) -> OrganisationFilter:
    """The listing filters, plus `updated_since` for mirrors harvesting changes."""
    if updated_since is None:
        return filters
    return replace(filters, updated_since=parse_instant(updated_since, "updated_since"))


HARVEST_PARAMETERS = (*FILTER_PARAMETERS, "updated_since")
HarvestFilterDep = Annotated[OrganisationFilter, Depends(on_event_loop(harvest_filter))]


@dataclass(frozen=True)
class Paging:
    """Keyset paging: at most `limit` rows with an id greater than `after`, in this order."""

    limit: int
    after: int | None
    sort: PageOrder = PageOrder.ID


def check_limit(limit: int, settings: Settings) -> int:
    """`limit` itself, or a 400 naming it when it is above the largest page."""
    if limit > settings.max_page_size:
        raise InvalidParameter(
            f"limit must be at most {settings.max_page_size}, got {limit}", parameter="limit"
        )
    return limit


async def paging(
    settings: SettingsDep,
    limit: Annotated[Integer | None, Query(ge=1, description="Page size")] = None,
    after: Annotated[
        Integer | None,
        Query(ge=0, le=SQLITE_INTEGER_MAX, description="Last id of the previous page"),
    ] = None,
    sort: Annotated[
        PageOrder, Query(description="id (keyset-paged) or relevance (best matches of q; one page)")
    ] = PageOrder.ID,
) -> Paging:
    """Parse the paging parameters, bounded by the settings."""
    if limit is not None:
        check_limit(limit, settings)
    return Paging(limit=limit or settings.default_page_size, after=after, sort=sort)


PagingDep = Annotated[Paging, Depends(paging)]
