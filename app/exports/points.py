"""The points of exported rows as WKB, rounded like the API's GeoJSON."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import NDArray

from app.geojson import COORDINATE_DECIMALS
from app.queries import PublicRow


def wkb_points(rows: Sequence[PublicRow]) -> NDArray[np.object_]:
    """One WKB point per row, at the coordinates the API gives (6 decimals)."""
    lons = [round(row["lon"], COORDINATE_DECIMALS) for row in rows]
    lats = [round(row["lat"], COORDINATE_DECIMALS) for row in rows]
    points: NDArray[np.object_] = shapely.to_wkb(shapely.points(lons, lats))
    return points
