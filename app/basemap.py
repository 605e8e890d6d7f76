"""The offline basemap: land, régions and départements simplified from the shipped polygons.

Each layer is simplified once per process, as a coverage (neighbours keep one shared
border, no gaps), rounded to 0.001° (about 100 m) and kept as GeoJSON bytes, so a
request serves them without any geometry work. France with its overseas régions weighs
about 150 KB gzipped for the three layers.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping, shape

from app.regions import DEPARTEMENTS_FILE, REGIONS_FILE

# Degrees: borders move by at most about 1 km, which no basemap zoom shows.
SIMPLIFY_TOLERANCE = 0.01
GRID_SIZE = 0.001


class BasemapLayer(StrEnum):
    """The polygon layers of the offline basemap."""

    LAND = "land"
    REGIONS = "regions"
    DEPARTEMENTS = "departements"


def _simplified(path: Path) -> tuple[list[dict[str, Any]], list[shapely.Geometry]]:
    """The features' properties and their polygons, simplified together as one coverage."""
    with path.open(encoding="utf-8") as geojson:
        features = json.load(geojson)["features"]
    polygons = shapely.coverage_simplify([shape(f["geometry"]) for f in features],
                                         SIMPLIFY_TOLERANCE)
    return [f["properties"] for f in features], [_rounded(p) for p in polygons]


def _rounded(geometry: shapely.Geometry) -> shapely.Geometry:
    """The geometry on the GRID_SIZE grid (shorter numbers, still valid)."""
    return shapely.set_precision(geometry, GRID_SIZE)


def _collection(properties: list[dict[str, Any]], polygons: list[shapely.Geometry]) -> bytes:
    """A compact GeoJSON FeatureCollection."""
    features = [{"type": "Feature", "properties": props, "geometry": mapping(polygon)}
                for props, polygon in zip(properties, polygons, strict=True)]
    return json.dumps({"type": "FeatureCollection", "features": features},
                      separators=(",", ":"), ensure_ascii=False).encode()


@cache
def layer_geojson(layer: BasemapLayer) -> bytes:
    """The layer as GeoJSON bytes, computed on first use and kept for the process."""
    if layer is BasemapLayer.DEPARTEMENTS:
        return _collection(*_simplified(DEPARTEMENTS_FILE))
    properties, polygons = _simplified(REGIONS_FILE)
    if layer is BasemapLayer.REGIONS:
        return _collection(properties, polygons)
    land = _rounded(shapely.union_all(polygons))
    return _collection([{"name": "France"}], [land])
