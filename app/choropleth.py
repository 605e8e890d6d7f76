"""Choropleth values: counts or counts per 10,000 inhabitants per area, and their classes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app import regions
from app.area_totals import AreaCounts, populations

# A legend of more classes than this is hard to tell apart.
MAX_CLASSES = 5
PER_INHABITANTS = 10_000


class AreaLevel(StrEnum):
    """Which areas a choropleth colours."""

    REGION = "region"
    DEPARTEMENT = "departement"


class Measure(StrEnum):
    """What a choropleth shows per area."""

    COUNT = "count"
    PER_10000 = "per_10000"


@dataclass(frozen=True)
class AreaValue:
    """One area: code, name, structures, inhabitants and the value shown."""

    code: str
    name: str
    count: int
    population: int
    value: float


@dataclass(frozen=True)
class ValueClass:
    """A class of the legend: values from `low` to `high`, both included."""

    low: float
    high: float


def area_values(counts: AreaCounts, level: AreaLevel, measure: Measure) -> list[AreaValue]:
    """Every area of the level (none left out, zero included), by code."""
    areas = ([(r.code, r.name) for r in regions.list_regions()] if level is AreaLevel.REGION
             else [(d.code, d.name) for d in regions.list_departements()])
    found = counts.regions if level is AreaLevel.REGION else counts.departements
    people = getattr(populations(), f"{level.value}s")
    return [AreaValue(code, name, found.get(code, 0), people.get(code, 0),
                      _value(found.get(code, 0), people.get(code, 0), measure))
            for code, name in areas]


def _value(count: int, population: int, measure: Measure) -> float:
    """The value shown for an area (per 10,000 inhabitants to two decimals)."""
    if measure is Measure.COUNT:
        return float(count)
    return round(count * PER_INHABITANTS / population, 2) if population else 0.0


def value_classes(values: list[float]) -> list[ValueClass]:
    """Up to MAX_CLASSES classes of equal membership (quantiles) over the distinct values."""
    distinct = sorted(set(values))
    if not distinct:
        return []
    size = -(-len(distinct) // min(MAX_CLASSES, len(distinct)))
    return [ValueClass(chunk[0], chunk[-1])
            for chunk in (distinct[start:start + size] for start in range(0, len(distinct), size))]
