"""French régions and départements by INSEE code, and the place of a point among them.

Names and the département → région link come from the properties of the simplified
polygons shipped in app/data/ (`regions.geojson`, `departements.geojson`); the point lookup
is `geocode.reverse` (commune polygons in a shapely STRtree).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from app.resources import shipped_file
from geocode.reverse import Location, default_reverse_index

REGIONS_FILE = shipped_file("regions.geojson")
DEPARTEMENTS_FILE = shipped_file("departements.geojson")


@dataclass(frozen=True)
class Region:
    """A région: INSEE code ("84") and name ("Auvergne-Rhône-Alpes")."""

    code: str
    name: str


@dataclass(frozen=True)
class Departement:
    """A département: INSEE code ("2A", "974"), name and the code of its région."""

    code: str
    name: str
    region: str


@cache
def list_regions() -> tuple[Region, ...]:
    """Every région (18, overseas included), by code."""
    return tuple(Region(p["code"], p["name"]) for p in _feature_properties(REGIONS_FILE))


@cache
def list_departements() -> tuple[Departement, ...]:
    """Every département (101, overseas included), by code."""
    return tuple(Departement(p["code"], p["name"], p["region"])
                 for p in _feature_properties(DEPARTEMENTS_FILE))


def region_name(code: str) -> str | None:
    """The name of the région with this INSEE code, or None."""
    region = _regions_by_code().get(code)
    return region.name if region else None


def departement_name(code: str) -> str | None:
    """The name of the département with this INSEE code, or None."""
    departement = _departements_by_code().get(code.upper())
    return departement.name if departement else None


def departement_region(code: str) -> str | None:
    """The INSEE code of the région of département `code` ("2A" -> "94"), or None."""
    departement = _departements_by_code().get(code.upper())
    return departement.region if departement else None


def locate(lat: float, lon: float) -> Location | None:
    """The commune, département and région of a point, or None outside France."""
    return default_reverse_index().locate(lat, lon)


@cache
def _regions_by_code() -> dict[str, Region]:
    return {region.code: region for region in list_regions()}


@cache
def _departements_by_code() -> dict[str, Departement]:
    return {departement.code: departement for departement in list_departements()}


def _feature_properties(path: Path) -> list[dict[str, Any]]:
    """The properties of every feature of a GeoJSON file, sorted by code."""
    with path.open(encoding="utf-8") as geojson:
        features = json.load(geojson)["features"]
    return sorted((feature["properties"] for feature in features), key=lambda p: p["code"])
