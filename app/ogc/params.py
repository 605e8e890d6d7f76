"""The query parameters of /ogc, read as OGC API – Features Part 1 says.

The standard's own parameters keep its rules: a `limit` above the largest page is
clamped (not refused), `bbox` may carry 6 numbers (heights are ignored), `datetime` is an
RFC 3339 instant or interval. The filters are those of /api/organisations, written as
comma-separated lists (`style: form, explode: false`) and checked by the same code.
Any other parameter is a 400, as the standard and this API both require.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from starlette.requests import Request

from app.config import Settings
from app.deps import (
    JSON_FORMATS,
    Q_MAX_LENGTH,
    SQLITE_INTEGER_MAX,
    integer_text,
    organisation_filter,
    parse_bbox,
)
from app.errors import InvalidParameter
from app.ogc.datetimes import Interval, parse_datetime
from app.quality import q_value
from app.queries import BBox, OrganisationFilter
from app.rfc3339 import parse_instant
from app.taxonomy import Taxonomy

LIST_FILTERS = ("category", "region", "departement", "legal_form")
ITEMS_PARAMETERS = ("f", "limit", "after", "bbox", "datetime", "updated_since", "q",
                    *LIST_FILTERS)


class Format(StrEnum):
    """What a resource is answered as."""

    JSON = "json"
    HTML = "html"


_F_VALUES = {**dict.fromkeys(JSON_FORMATS, Format.JSON), "html": Format.HTML}
_MEDIA_TYPES = {
    "text/html": Format.HTML,
    "application/json": Format.JSON,
    "application/geo+json": Format.JSON,
    "application/vnd.oai.openapi+json": Format.JSON,
}


@dataclass(frozen=True)
class ItemsQuery:
    """A parsed /items request."""

    filters: OrganisationFilter
    limit: int
    after: int | None


def single(request: Request, name: str) -> str | None:
    """The one value of a parameter (None when absent); a repeated one is a 400."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidParameter(f"{name} must be given at most once", parameter=name)
    return values[0] if values else None


def _preferred(accept: str) -> Format:
    """The format the Accept header prefers; JSON when it names neither."""
    best, best_quality = Format.JSON, 0.0
    for media_range in accept.split(","):
        media_type, _, parameters = media_range.partition(";")
        found = _MEDIA_TYPES.get(media_type.strip().lower())
        quality = q_value(parameters)
        if found is not None and quality > best_quality:
            best, best_quality = found, quality
    return best


def response_format(request: Request) -> Format:
    """`f=` when given (json, geojson or html), else what the Accept header prefers."""
    value = single(request, "f")
    if value is None:
        return _preferred(request.headers.get("accept", ""))
    if value not in _F_VALUES:
        raise InvalidParameter(
            f"f must be one of: {', '.join(sorted(_F_VALUES))}; got {value!r}", parameter="f")
    return _F_VALUES[value]


def _integer(text: str, name: str, minimum: int) -> int:
    """A parameter written as an ASCII integer of at least `minimum`."""
    try:
        integer_text(text)
        value = int(text)
    except ValueError:
        raise InvalidParameter(
            f"{name} must be an integer written with the ASCII digits 0-9, got {text!r}",
            parameter=name) from None
    if not minimum <= value <= SQLITE_INTEGER_MAX:
        raise InvalidParameter(
            f"{name} must be between {minimum} and {SQLITE_INTEGER_MAX}, got {value}",
            parameter=name)
    return value


def clamped_limit(text: str | None, settings: Settings) -> int:
    """The page size: the default when absent, the largest page when above it (OGC)."""
    if text is None:
        return settings.default_page_size
    return min(_integer(text, "limit", 1), settings.max_page_size)


def ogc_bbox(text: str) -> BBox:
    """A bbox of 4 numbers, or 6 (minLon,minLat,minZ,maxLon,maxLat,maxZ: heights dropped)."""
    parts = text.split(",")
    if len(parts) == 6:
        text = ",".join(parts[0:2] + parts[3:5])
    return parse_bbox(text)


def _listed(request: Request, name: str) -> list[str]:
    """A list filter: comma-separated values, the parameter possibly repeated."""
    values = [v.strip() for given in request.query_params.getlist(name) for v in given.split(",")]
    if any(not value for value in values):
        raise InvalidParameter(f"{name} has an empty value", parameter=name)
    return values


def updated_interval(request: Request) -> Interval:
    """updated_at's bounds from `datetime` and `updated_since` (both apply)."""
    moments, since = single(request, "datetime"), single(request, "updated_since")
    start, end = parse_datetime(moments) if moments else (None, None)
    if since is not None:
        lower = parse_instant(since, "updated_since")
        start = lower if start is None else max(start, lower)
    return start, end


def items_query(request: Request, settings: Settings, taxonomy: Taxonomy) -> ItemsQuery:
    """Parse and check an /items request."""
    box, text = single(request, "bbox"), single(request, "q")
    if text is not None and len(text) > Q_MAX_LENGTH:
        raise InvalidParameter(f"q must have at most {Q_MAX_LENGTH} characters", parameter="q")
    filters = organisation_filter(
        taxonomy, category=_listed(request, "category"), region=_listed(request, "region"),
        departement=_listed(request, "departement"), legal_form=_listed(request, "legal_form"),
        q=text, bbox=None)
    updated_since, updated_until = updated_interval(request)
    filters = replace(filters, bbox=ogc_bbox(box) if box is not None else None,
                      updated_since=updated_since, updated_until=updated_until)
    after = single(request, "after")
    return ItemsQuery(filters=filters, limit=clamped_limit(single(request, "limit"), settings),
                      after=_integer(after, "after", 0) if after is not None else None)
