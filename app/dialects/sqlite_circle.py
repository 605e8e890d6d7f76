"""Counting the structures in a circle on SQLite's R*Tree without measuring most of them.

The circle is cut into strips of latitude. In each strip, an inner rectangle lies wholly
inside the circle: its points are counted by the R*Tree alone. The two edge rectangles
either side are where the circle's boundary runs: their points are measured. Pieces are
half-open on the R*Tree's rounded-down corner (min_lat, min_lon), so every point falls
in exactly one piece; margins cover the 32-bit rounding of R*Tree coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.spatial import EARTH_RADIUS_M, Circle, haversine_m

STRIPS = 32
# More than the 32-bit float step of a longitude near ±180 (2**-16 degrees).
MARGIN_DEG = 5e-5


@dataclass(frozen=True)
class Piece:
    """Points whose rounded-down corner is in [min_lat, max_lat) x [min_lon, max_lon)."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float
    inside: bool  # every point of the piece is within the circle


def half_width_deg(circle: Circle, lat: float) -> float:
    """Half the longitude span of the circle along a parallel (0 if it misses the circle)."""
    angle = circle.radius_m / EARTH_RADIUS_M
    phi0, phi = math.radians(circle.lat), math.radians(lat)
    across = math.cos(phi0) * math.cos(phi)
    if across <= 0:
        return 180.0
    ratio = (math.cos(angle) - math.sin(phi0) * math.sin(phi)) / across
    return 0.0 if ratio >= 1 else 180.0 if ratio <= -1 else math.degrees(math.acos(ratio))


def _widest_deg(circle: Circle, low: float, high: float) -> float:
    """The largest half-width over latitudes [low, high] (it peaks at one latitude)."""
    angle = circle.radius_m / EARTH_RADIUS_M
    peak = math.degrees(math.asin(min(1.0, math.sin(math.radians(circle.lat)) / math.cos(angle))))
    return half_width_deg(circle, min(max(peak, low), high))


def _inner_half_width(circle: Circle, low: float, high: float) -> float:
    """A half-width whose rectangle over [low, high] surely lies inside the circle (or 0)."""
    width = min(half_width_deg(circle, low), half_width_deg(circle, high)) - 2 * MARGIN_DEG
    corners = [(lat, circle.lon + side * (width + MARGIN_DEG))
               for lat in (low, high + MARGIN_DEG) for side in (-1, 1)]
    inside = all(haversine_m(circle.lat, circle.lon, lat, lon) < circle.radius_m
                 for lat, lon in corners)
    return width if width > 0 and inside else 0.0


def pieces(circle: Circle) -> list[Piece] | None:
    """The pieces covering the circle, or None where strips do not apply (poles, ±180)."""
    reach = math.degrees(circle.radius_m / EARTH_RADIUS_M) + MARGIN_DEG
    low, high = circle.lat - reach, circle.lat + reach
    if low <= -90 or high >= 90:
        return None
    height = (high - low) / STRIPS
    found: list[Piece] = []
    for index in range(STRIPS):
        bottom, top = low + index * height, low + (index + 1) * height
        outer = _widest_deg(circle, bottom - MARGIN_DEG, top + MARGIN_DEG) + MARGIN_DEG
        if circle.lon - outer < -180 or circle.lon + outer > 180:
            return None
        found.extend(_strip_pieces(circle, bottom, top, outer))
    return found


def _strip_pieces(circle: Circle, bottom: float, top: float, outer: float) -> list[Piece]:
    """The edge pieces and, when there is one, the inner piece of a strip."""
    inner = _inner_half_width(circle, bottom, top)
    west, east = circle.lon - outer, circle.lon + outer
    if inner == 0:
        return [Piece(bottom, top, west, east, inside=False)]
    return [Piece(bottom, top, west, circle.lon - inner, inside=False),
            Piece(bottom, top, circle.lon - inner, circle.lon + inner, inside=True),
            Piece(bottom, top, circle.lon + inner, east, inside=False)]
