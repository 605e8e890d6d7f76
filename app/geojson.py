"""Records to RFC 7946 features, streamed: `[lon, lat]`, 6 decimals, no `crs`.

Encoded with orjson (UTF-8, no ASCII escaping). A streamed collection goes out in chunks
of FEATURES_PER_CHUNK features and gives the event loop a turn after each chunk, so a
client that goes away stops the serialisation at the next chunk.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Iterable, Mapping
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import orjson
from fastapi.responses import JSONResponse, StreamingResponse

from app.models import PUBLIC_COLUMNS, OrganisationPublic, split_list

# A feature's properties: every public column but its id and its point.
PROPERTY_COLUMNS = tuple(name for name in PUBLIC_COLUMNS if name not in {"id", "lat", "lon"})
# The properties that hold times (written as ISO 8601 UTC text).
TIME_COLUMNS = tuple(name for name in PROPERTY_COLUMNS
                     if OrganisationPublic.model_fields[name].annotation is datetime)

GEOJSON_MEDIA_TYPE = "application/geo+json"
COORDINATE_DECIMALS = 6
FEATURES_PER_CHUNK = 100


def point_geometry(lat: float, lon: float) -> dict[str, Any]:
    """A GeoJSON Point in RFC 7946 axis order."""
    return {
        "type": "Point",
        "coordinates": [round(lon, COORDINATE_DECIMALS), round(lat, COORDINATE_DECIMALS)],
    }


def json_value(value: Any) -> Any:
    """Datetimes as ISO 8601 in UTC with a `Z` (naive ones are UTC); the rest as is."""
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        # orjson formats a datetime several times faster than isoformat() and replace().
        return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)[1:-1].decode()
    return value


def organisation_feature(row: Mapping[Any, Any], **extra: Any) -> dict[str, Any]:
    """One structure (a row of PUBLIC_COLUMNS) as a Feature with only public properties."""
    properties = {name: row[name] for name in PROPERTY_COLUMNS}
    for name in TIME_COLUMNS:
        properties[name] = json_value(properties[name])
    properties["categories"] = split_list(row["categories"])
    properties["labels"] = split_list(row["labels"])
    properties.update(extra)
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": point_geometry(row["lat"], row["lon"]),
        "properties": properties,
    }


def _dumps(value: Any) -> bytes:
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
            yield separator + b",".join(map(_dumps, batch))
            separator = b","
    finally:  # a response cut short closes the features' generator (and its cursor) now
        if isinstance(remaining, Generator):
            remaining.close()
    yield b"]"
    for name, value in members.items():
        yield b"," + _dumps(name) + b":" + _dumps(value)
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
        return _dumps(content)


def streamed_feature_collection(
    features: Iterable[dict[str, Any]],
    members: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> StreamingResponse:
    """A FeatureCollection response written while the features are produced."""
    chunks = feature_collection_chunks(features, members)
    return StreamingResponse(_as_async(chunks), media_type=GEOJSON_MEDIA_TYPE, headers=headers)
