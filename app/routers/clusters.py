"""GET /api/clusters: the structures of a view grouped on a grid, with the exact total."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import summaries
from app.answer_cache import kept_json_response
from app.deps import HARVEST_PARAMETERS, HarvestFilterDep, Integer, SessionDep, only_parameters
from app.geojson import GEOJSON_MEDIA_TYPE, GeoJSONResponse, point_geometry
from app.geojson_models import ClusterCollection
from app.queries import OrganisationFilter

router = APIRouter(prefix="/api", tags=["organisations"])


def _single_feature(row: dict[str, Any]) -> dict[str, Any]:
    """A structure alone in its cell, as itself."""
    properties = {name: row[name] for name in ("name", "legal_form", "city", "geocode_precision")}
    properties.update(cluster=False, count=1, categories=summaries.sectors_of(row["categories"]))
    return {"type": "Feature", "id": row["id"], "geometry": point_geometry(row["lat"], row["lon"]),
            "properties": properties}


def _cluster_feature(cluster: summaries.Cluster) -> dict[str, Any]:
    """A cell of several structures: count, sector mix, the box to zoom into."""
    tally = cluster.tally
    bounds = (tally.min_lon, tally.min_lat, tally.max_lon, tally.max_lat)
    box = [round(value, 6) for value in bounds]
    return {"type": "Feature", "id": f"{cluster.level}/{cluster.cx}/{cluster.cy}", "bbox": box,
            "geometry": point_geometry(*cluster.centre),
            "properties": {"cluster": True, "count": tally.n, "sectors": tally.sectors}}


@router.get(
    "/clusters",
    response_class=GeoJSONResponse,
    responses={200: {"model": ClusterCollection, "description": "A FeatureCollection"}},
    dependencies=[Depends(only_parameters(*HARVEST_PARAMETERS, "zoom"))],
)
def clusters(
    request: Request,
    session: SessionDep,
    filters: HarvestFilterDep,
    zoom: Annotated[Integer, Query(ge=0, le=22, description="Map zoom level (Web Mercator)")],
) -> Response:
    """Clusters of the structures in `bbox` (default: the world) for a map at `zoom`."""
    return kept_json_response(request, session.connection(),
                              lambda: _collection(session, filters, zoom), GEOJSON_MEDIA_TYPE)


def _collection(session: Session, filters: OrganisationFilter, zoom: int) -> dict[str, Any]:
    """The clusters and single structures of a view, as a FeatureCollection."""
    view = summaries.clusters(session=session, filters=filters, zoom=zoom)
    features = [*map(_single_feature, view.singles), *map(_cluster_feature, view.clusters)]
    return {
        "type": "FeatureCollection", "features": features,
        "numberMatched": view.number_matched, "numberReturned": len(features),
        "zoom": zoom, "gridLevel": view.level,
    }
