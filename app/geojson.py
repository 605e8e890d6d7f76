"""Records to RFC 7946 features, streamed: `[lon, lat]`, 6 decimals, no `crs`.

Encoded with orjson (UTF-8, no ASCII escaping). A collection of at most
FEATURES_PER_CHUNK features (a page) is one orjson call and one body with its length; a
larger one goes out in chunks of FEATURES_PER_CHUNK features and gives the event loop a
turn after each chunk, so a client that goes away stops the serialisation at the next chunk.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice
from operator import itemgetter
from typing import Any

import orjson
from fastapi.responses import JSONResponse, Response, StreamingResponse

from app.models import PUBLIC_COLUMNS, OrganisationPublic, split_list

# A feature's properties: every public column but its id and its point.
PROPERTY_COLUMNS = tuple(name for name in PUBLIC_COLUMNS if name not in {"id", "lat", "lon"})
# The properties that hold times (written as ISO 8601 UTC text).
TIME_COLUMNS = tuple(name for name in PROPERTY_COLUMNS
                     if OrganisationPublic.model_fields[name].annotation is datetime)

# Where a row of PUBLIC_COLUMNS holds the id, the point and the properties.
_ID, _LAT, _LON = (PUBLIC_COLUMNS.index(name) for name in ("id", "lat", "lon"))
_property_values = itemgetter(*(PUBLIC_COLUMNS.index(name) for name in PROPERTY_COLUMNS))

GEOJSON_MEDIA_TYPE = "application/geo+json"
COORDINATE_DECIMALS = 6
# How orjson writes times: UTC with a `Z`, naive ones taken as UTC.
JSON_TIME_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
FEATURES_PER_CHUNK = 100


def point_geometry(lat: float, lon: float) -> dict[str, Any]:
    """A GeoJSON Point in RFC 7946 axis order."""
    return {
        "type": "Point",
        "coordinates": [round(lon, COORDINATE_DECIMALS), round(lat, COORDINATE_DECIMALS)],
    }


def in_utc(moment: datetime) -> datetime:
    """An aware time moved to UTC; a naive one stays (it is UTC), as JSON_TIME_OPTIONS reads it."""
    if moment.tzinfo is not None and moment.tzinfo is not UTC:
        return moment.astimezone(UTC)
    return moment


def json_value(value: Any) -> Any:
    """Datetimes as ISO 8601 in UTC with a `Z` (naive ones are UTC); the rest as is."""
    if isinstance(value, datetime):
        # orjson formats a datetime several times faster than isoformat() and replace().
        return orjson.dumps(in_utc(value), option=JSON_TIME_OPTIONS)[1:-1].decode()
    return value


def organisation_feature(row: Mapping[Any, Any], **extra: Any) -> dict[str, Any]:
    """One structure (a row of PUBLIC_COLUMNS) as a Feature with only public properties."""
    return feature_of_values(tuple(row[name] for name in PUBLIC_COLUMNS), **extra)


def feature_of_values(values: Sequence[Any], **extra: Any) -> dict[str, Any]:
    """One structure (its values in PUBLIC_COLUMNS order) as a Feature, public properties only."""
    properties = dict(zip(PROPERTY_COLUMNS, _property_values(values), strict=True))
    for name in TIME_COLUMNS:
        properties[name] = json_value(properties[name])
    properties["categories"] = split_list(properties["categories"])
    properties["labels"] = split_list(properties["labels"])
    properties.update(extra)
    return {
        "type": "Feature",
        "id": values[_ID],
        "geometry": point_geometry(values[_LAT], values[_LON]),
        "properties": properties,
    }


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON that keeps accents readable."""
    return orjson.dumps(value)


def feature_collection_chunks(
    features: Iterable[dict[str, Any]], members: dict[str, Any]
) -> Generator[bytes, None, None]:
    """The bytes of a FeatureCollection, FEATURES_PER_CHUNK features at a time."""
    yield b'{"type":"FeatureCollection","features":['
    remaining = iter(features)
    try:
        separator = b""
        while batch := list(islice(remaining, FEATURES_PER_CHUNK)):
            yield separator + b",".join(map(json_bytes, batch))
            separator = b","
    finally:  # a response cut short closes the features' generator (and its cursor) now
        if isinstance(remaining, Generator):
            remaining.close()
    yield b"]"
    for name, value in members.items():
        yield b"," + json_bytes(name) + b":" + json_bytes(value)
    yield b"}"


async def _as_async(chunks: Generator[bytes, None, None]) -> AsyncIterator[bytes]:
    """The chunks for a streaming response, yielding to the event loop after each.

    Without that turn, the loop never sees the client's disconnect nor cancels the
    response: every chunk would be serialised and written into a dead socket.
    """
    try:
        for chunk in chunks:
            yield chunk
            await asyncio.sleep(0)
    finally:
        chunks.close()


class GeoJSONResponse(JSONResponse):
    """A small GeoJSON document built in memory (a single feature)."""

    media_type = GEOJSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        """Serialise without ASCII escaping."""
        return json_bytes(content)


def feature_collection_response(
    features: Sequence[dict[str, Any]],
    members: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> Response:
    """A FeatureCollection: one body when it is no longer than a chunk, else streamed."""
    if len(features) > FEATURES_PER_CHUNK:
        return streamed_feature_collection(features, members, headers)
    body = {"type": "FeatureCollection", "features": features, **members}
    return Response(json_bytes(body), media_type=GEOJSON_MEDIA_TYPE, headers=headers)


def streamed_feature_collection(
    features: Iterable[dict[str, Any]],
    members: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> StreamingResponse:
    """A FeatureCollection response written while the features are produced."""
    chunks = feature_collection_chunks(features, members)
    return StreamingResponse(_as_async(chunks), media_type=GEOJSON_MEDIA_TYPE, headers=headers)
