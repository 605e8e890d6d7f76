"""The bounds of the French régions and départements, from the polygons shipped in app/data/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from app.regions import DEPARTEMENTS_FILE, REGIONS_FILE

Bounds = list[float]


def _positions(coordinates: Any) -> Iterator[tuple[float, float]]:
    """Every [lon, lat] position of a (Multi)Polygon's nested coordinate arrays."""
    if coordinates and isinstance(coordinates[0], (int, float)):
        yield float(coordinates[0]), float(coordinates[1])
        return
    for part in coordinates:
        yield from _positions(part)


def _bounds(geometry: dict[str, Any]) -> Bounds:
    """[minLon, minLat, maxLon, maxLat] of one geometry."""
    lons, lats = zip(*_positions(geometry["coordinates"]), strict=True)
    return [min(lons), min(lats), max(lons), max(lats)]


def _bounds_by_code(path: Path) -> dict[str, Bounds]:
    """The bounds of each feature of a GeoJSON file, by its `code` property."""
    with path.open(encoding="utf-8") as geojson:
        features = json.load(geojson)["features"]
    return {feature["properties"]["code"]: _bounds(feature["geometry"]) for feature in features}


@cache
def area_bounds() -> dict[str, dict[str, Bounds]]:
    """Bounds of every région and département by INSEE code (computed once)."""
    return {"regions": _bounds_by_code(REGIONS_FILE),
            "departements": _bounds_by_code(DEPARTEMENTS_FILE)}
