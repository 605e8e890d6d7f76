"""The GeoJSON answers of /api as response models (geojson-pydantic), for the OpenAPI document.

The answers themselves are written by app/geojson.py (streamed, never validated one by
one); these models say what they hold, and the schemathesis test checks every answer
against them.
"""

from __future__ import annotations

from typing import Literal

from geojson_pydantic import Feature, FeatureCollection, Point
from pydantic import BaseModel, Field

from app.models import OrganisationProperties


class Link(BaseModel):
    """A link of a listing (the keyset `next` page)."""

    rel: str
    type: str
    href: str


class OrganisationFeature(Feature[Point, OrganisationProperties]):
    """One structure: its id, its point (lon, lat) and its public properties."""

    id: int  # always the structure's integer id


class OrganisationCollection(FeatureCollection[OrganisationFeature]):
    """A page of structures."""

    numberMatched: int | None = Field(
        default=None, ge=0, description="How many structures match the filters (absent with "
        "sort=relevance)")
    numberReturned: int = Field(ge=0, description="How many features this page holds")
    moreMatched: bool | None = Field(
        default=None, description="sort=relevance only: whether more structures matched")
    links: list[Link] = Field(description="`next`, when there is a next page")


class NearbyProperties(OrganisationProperties):
    """A structure's properties and its distance to the asked point."""

    distance_m: float = Field(ge=0, description="Great-circle distance in metres")


class NearbyFeature(Feature[Point, NearbyProperties]):
    """One structure near the asked point."""

    id: int


class NearbyCollection(FeatureCollection[NearbyFeature]):
    """The nearest structures, nearest first."""

    numberMatched: int = Field(ge=0, description="How many lie within the radius and filters")
    numberReturned: int = Field(ge=0)


class SingleProperties(BaseModel):
    """A structure alone in its cell."""

    name: str
    legal_form: str | None
    city: str | None
    geocode_precision: str | None
    cluster: Literal[False]
    count: Literal[1]
    categories: list[str]


class ClusterProperties(BaseModel):
    """A cell of several structures."""

    cluster: Literal[True]
    count: int = Field(ge=2)
    sectors: dict[str, int] = Field(description="How many of them have each main sector")


class ClusterFeature(Feature[Point, SingleProperties | ClusterProperties]):
    """A structure (integer id) or a cluster (id `level/x/y`, with its bbox)."""


class ClusterCollection(FeatureCollection[ClusterFeature]):
    """The structures of a view grouped on a grid."""

    numberMatched: int = Field(ge=0)
    numberReturned: int = Field(ge=0)
    zoom: int
    gridLevel: int
