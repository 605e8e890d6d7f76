"""The points of exported rows as WKB, rounded like the API's GeoJSON."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.exports.arrow import pa
from app.geojson import COORDINATE_DECIMALS

# An ISO WKB point, little-endian: byte order 1, geometry type 1 (Point), x, y; 21 bytes.
_WKB_POINT = np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])


def wkb_points(lons: Sequence[float], lats: Sequence[float]) -> pa.BinaryArray:
    """One WKB point per longitude and latitude, at the coordinates the API gives (6 decimals)."""
    points = np.empty(len(lons), _WKB_POINT)
    points["order"] = 1
    points["kind"] = 1
    # Python's round(), as the GeoJSON's: numpy's differs on some halves.
    points["x"] = [round(lon, COORDINATE_DECIMALS) for lon in lons]
    points["y"] = [round(lat, COORDINATE_DECIMALS) for lat in lats]
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(_WKB_POINT.itemsize), len(points), [None, pa.py_buffer(points.tobytes())])
    binary: pa.BinaryArray = fixed.cast(pa.binary())
    return binary
