"""GET /api/areas/bounds: where each région and département is, for the map to zoom to."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from app.area_bounds import area_bounds
from app.deps import only_parameters

router = APIRouter(prefix="/api/areas", tags=["reference"])
# The polygons ship with the release: the answer changes only with it.
CACHE_CONTROL = "public, max-age=86400"


@router.get("/bounds", dependencies=[Depends(only_parameters())])
def bounds(response: Response) -> dict[str, dict[str, list[float]]]:
    """[minLon, minLat, maxLon, maxLat] of each région and département, by INSEE code."""
    response.headers["Cache-Control"] = CACHE_CONTROL
    return area_bounds()
