"""Records to RFC 7946 features, streamed: `[lon, lat]`, 6 decimals, no `crs`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse, StreamingResponse

from app.models import PUBLIC_COLUMNS

_NOT_PROPERTIES = frozenset({"id", "lat", "lon"})

GEOJSON_MEDIA_TYPE = "application/geo+json"
COORDINATE_DECIMALS = 6


def point_geometry(lat: float, lon: float) -> dict[str, Any]:
    """A GeoJSON Point in RFC 7946 axis order."""
    return {
        "type": "Point",
        "coordinates": [round(lon, COORDINATE_DECIMALS), round(lat, COORDINATE_DECIMALS)],
    }


def _json_value(value: Any) -> Any:
    """Datetimes as ISO 8601 in UTC (SQLite gives them back naive); the rest as is."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def organisation_feature(row: Mapping[Any, Any], **extra: Any) -> dict[str, Any]:
    """One structure (a row of PUBLIC_COLUMNS) as a Feature with only public properties."""
    properties = {
        name: _json_value(row[name]) for name in PUBLIC_COLUMNS if name not in _NOT_PROPERTIES
    }
    properties["categories"] = [slug for slug in row["categories"].split("|") if slug]
    properties.update(extra)
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": point_geometry(row["lat"], row["lon"]),
        "properties": properties,
    }


def _dumps(value: Any) -> str:
    """Compact JSON that keeps accents readable."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def feature_collection_chunks(
    features: Iterable[dict[str, Any]], members: dict[str, Any]
) -> Iterator[str]:
    """The text of a FeatureCollection, one feature at a time."""
    yield '{"type":"FeatureCollection","features":['
    for index, feature in enumerate(features):
        yield ("," if index else "") + _dumps(feature)
    yield "]"
    for name, value in members.items():
        yield f",{_dumps(name)}:{_dumps(value)}"
    yield "}"


async def _as_async(chunks: Iterator[str]) -> AsyncIterator[bytes]:
    """Encode the chunks for a streaming response."""
    for chunk in chunks:
        yield chunk.encode("utf-8")


class GeoJSONResponse(JSONResponse):
    """A small GeoJSON document built in memory (a single feature)."""

    media_type = GEOJSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        """Serialise without ASCII escaping."""
        return _dumps(content).encode("utf-8")


def streamed_feature_collection(
    features: Iterable[dict[str, Any]],
    members: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> StreamingResponse:
    """A FeatureCollection response written while the features are produced."""
    chunks = feature_collection_chunks(features, members)
    return StreamingResponse(_as_async(chunks), media_type=GEOJSON_MEDIA_TYPE, headers=headers)
