"""Names of the communes that have structures, in a small box, for the offline basemap.

The gazetteer's communes are kept sorted by longitude, so a box's candidates are a
bisection away; whether a commune has a structure is one seek each in the citycode index.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cache

from sqlalchemy import exists, literal, select, union_all
from sqlmodel import Session

from app.models import Organisation
from app.spatial import BBox
from geocode.gazetteer import Commune, default_gazetteer

_ORGANISATION = Organisation.__table__  # type: ignore[attr-defined]
# Commune names are drawn from zoom 10 on, where even a wide screen spans under 3°.
MAX_BOX_DEGREES = 3.0
# The most names one answer carries (the most populous first; the answer says how many).
MAX_NAMES = 500
# SQLite joins at most 500 SELECTs in one compound statement.
_CODES_PER_QUERY = 400


@dataclass(frozen=True)
class CommuneNames:
    """The communes with structures in a box (the most populous first) and how many there are."""

    communes: list[Commune]
    number_matched: int


@cache
def _by_longitude() -> tuple[list[float], list[Commune]]:
    """Every commune and arrondissement, sorted by longitude, and their longitudes."""
    communes = sorted(default_gazetteer(), key=lambda commune: commune.lon)
    return [commune.lon for commune in communes], communes


def communes_in_box(box: BBox) -> list[Commune]:
    """The gazetteer's communes whose centre lies in the box."""
    longitudes, communes = _by_longitude()
    found = []
    for part in box.parts():
        start, end = bisect_left(longitudes, part.min_lon), bisect_right(longitudes, part.max_lon)
        found += [c for c in communes[start:end] if part.min_lat <= c.lat <= part.max_lat]
    return found


def _with_structures(session: Session, communes: list[Commune]) -> set[str]:
    """The codes of these communes that at least one structure has (one index seek each)."""
    found: set[str] = set()
    for start in range(0, len(communes), _CODES_PER_QUERY):
        probes = [select(literal(c.code)).where(exists().where(_ORGANISATION.c.citycode == c.code))
                  for c in communes[start:start + _CODES_PER_QUERY]]
        found.update(session.connection().execute(union_all(*probes)).scalars())
    return found


def structure_communes(*, session: Session, box: BBox) -> CommuneNames:
    """The communes of the box that have structures, at most MAX_NAMES, most populous first."""
    candidates = communes_in_box(box)
    kept = _with_structures(session, candidates)
    found = sorted((c for c in candidates if c.code in kept), key=lambda c: (-c.population, c.code))
    return CommuneNames(found[:MAX_NAMES], len(found))


def box_span(box: BBox) -> tuple[float, float]:
    """The box's width and height in degrees (across the antimeridian too)."""
    width = box.max_lon - box.min_lon if box.min_lon <= box.max_lon else (
        360.0 - box.min_lon + box.max_lon)
    return width, box.max_lat - box.min_lat
