"""Plain geometry on WGS84 points: boxes, great-circle distance, the box around a circle."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
# Degrees added around a circle's box so rounding never leaves a point on the circle out.
_BOX_MARGIN_DEG = 1e-7


@dataclass(frozen=True)
class BBox:
    """A WGS84 box; min_lon > max_lon means it crosses the antimeridian."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def parts(self) -> tuple[BBox, ...]:
        """The box as one or two boxes that do not cross the antimeridian."""
        if self.min_lon <= self.max_lon:
            return (self,)
        return (
            BBox(self.min_lon, self.min_lat, 180.0, self.max_lat),
            BBox(-180.0, self.min_lat, self.max_lon, self.max_lat),
        )


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bbox_around(lat: float, lon: float, radius_m: float) -> BBox:
    """A box that contains the circle of `radius_m` around the point."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M) + _BOX_MARGIN_DEG
    if lat + dlat >= 90 or lat - dlat <= -90:
        # The circle holds a pole: every longitude is within reach.
        return BBox(-180.0, max(-90.0, lat - dlat), 180.0, min(90.0, lat + dlat))
    # Widest longitude span of the circle: asin(sin(d) / cos(lat)), d the angular radius.
    ratio = math.sin(radius_m / EARTH_RADIUS_M) / math.cos(math.radians(lat))
    dlon = 180.0 if ratio >= 1 else math.degrees(math.asin(ratio)) + _BOX_MARGIN_DEG
    if dlon >= 180:
        return BBox(-180.0, lat - dlat, 180.0, lat + dlat)
    min_lon, max_lon = lon - dlon, lon + dlon
    if min_lon < -180:
        min_lon += 360
    if max_lon > 180:
        max_lon -= 360
    return BBox(min_lon, lat - dlat, max_lon, lat + dlat)


@dataclass(frozen=True)
class Circle:
    """The points within `radius_m` metres of (lat, lon)."""

    lat: float
    lon: float
    radius_m: float

    def box(self) -> BBox:
        """A box that contains the circle."""
        return bbox_around(self.lat, self.lon, self.radius_m)
