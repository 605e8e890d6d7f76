"""GET /api/basemap/…: the offline basemap's polygons and the names of communes with structures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from app.basemap import BasemapLayer, layer_geojson
from app.commune_names import MAX_BOX_DEGREES, box_span, structure_communes
from app.deps import SessionDep, only_parameters, parse_bbox
from app.errors import InvalidParameter
from app.geojson import GEOJSON_MEDIA_TYPE, GeoJSONResponse

router = APIRouter(prefix="/api/basemap", tags=["reference"])
# The polygons ship with the release: the answer changes only with it.
CACHE_CONTROL = "public, max-age=86400"


@router.get("/communes", dependencies=[Depends(only_parameters("bbox"))],
            response_class=GeoJSONResponse)
def communes(
    session: SessionDep,
    bbox: Annotated[str, Query(description="minLon,minLat,maxLon,maxLat, at most "
                               f"{MAX_BOX_DEGREES}° each way")],
) -> dict[str, Any]:
    """The communes of the box with at least one structure, the most populous first."""
    box = parse_bbox(bbox)
    if max(box_span(box)) > MAX_BOX_DEGREES:
        raise InvalidParameter(f"bbox must span at most {MAX_BOX_DEGREES}° in longitude and "
                               "latitude for commune names", parameter="bbox")
    found = structure_communes(session=session, box=box)
    return {
        "type": "FeatureCollection",
        "numberMatched": found.number_matched,
        "numberReturned": len(found.communes),
        "features": [{"type": "Feature", "id": c.code,
                      "properties": {"name": c.name, "population": c.population},
                      "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]}}
                     for c in found.communes],
    }


@router.get("/{layer}", dependencies=[Depends(only_parameters())],
            response_class=Response, responses={200: {"content": {GEOJSON_MEDIA_TYPE: {}}}})
def layer(layer: Annotated[BasemapLayer, Path(description="land, regions or departements")]
          ) -> Response:
    """One polygon layer of the offline basemap, simplified (GeoJSON)."""
    return Response(layer_geojson(layer), media_type=GEOJSON_MEDIA_TYPE,
                    headers={"Cache-Control": CACHE_CONTROL})
