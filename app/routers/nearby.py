"""GET /api/nearby: structures around a point, nearest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from app import queries
from app.deps import (
    HARVEST_PARAMETERS,
    HarvestFilterDep,
    Integer,
    Number,
    SessionDep,
    SettingsDep,
    check_limit,
    only_parameters,
)
from app.errors import InvalidParameter
from app.geojson import GeoJSONResponse, feature_collection_response, organisation_feature
from app.geojson_models import NearbyCollection

router = APIRouter(prefix="/api", tags=["organisations"])


@router.get(
    "/nearby",
    response_class=GeoJSONResponse,
    responses={200: {"model": NearbyCollection, "description": "A FeatureCollection"}},
    dependencies=[Depends(only_parameters(*HARVEST_PARAMETERS, "lat", "lon", "radius_km",
                                          "limit"))],
)
def nearby(
    session: SessionDep,
    settings: SettingsDep,
    filters: HarvestFilterDep,
    lat: Annotated[Number, Query(ge=-90, le=90, description="Latitude, WGS84")],
    lon: Annotated[Number, Query(ge=-180, le=180, description="Longitude, WGS84")],
    radius_km: Annotated[Number, Query(gt=0, description="Search radius in km")] = 10.0,
    limit: Annotated[Integer, Query(ge=1, description="Maximum number of features")] = 100,
) -> Response:
    """The `limit` nearest within `radius_km` of (lat, lon), each with `distance_m`.

    `numberMatched` counts every structure within the radius and filters.
    """
    if radius_km > settings.max_nearby_radius_km:
        raise InvalidParameter(
            f"radius_km must be at most {settings.max_nearby_radius_km:g}, got {radius_km:g}",
            parameter="radius_km",
        )
    nearby = queries.organisations_nearby(
        session=session, lat=lat, lon=lon, radius_m=radius_km * 1000, filters=filters,
        limit=check_limit(limit, settings),
    )
    features = [organisation_feature(h.organisation, distance_m=round(h.distance_m, 1))
                for h in nearby.hits]
    members = {"numberMatched": nearby.number_matched, "numberReturned": len(nearby.hits)}
    return feature_collection_response(features, members)
