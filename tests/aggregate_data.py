"""Synthetic structures spread like France, written through storage.write_batch, and
brute-force answers computed in Python from the stored rows."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

from app.db import session_scope
from app.queries import BBox, OrganisationFilter
from app.storage import (
    Placement,
    StoredRecord,
    content_hash,
    key_for,
    organisation_row,
    write_batch,
)
from app.taxonomy import LegalForm
from geocode.gazetteer import COMMUNE, default_gazetteer
from geocode.normalize import fold

SECTORS = ("alimentation", "habitat", "insertion-emploi", "reemploi", "environnement",
           "culture-education-populaire", "cooperatives-activite", "mediation-numerique")
FORMS: tuple[LegalForm | None, ...] = (*LegalForm, None)
# Places far from mainland France: overseas, both sides of the antimeridian, the far north.
EDGES = ((-17.53, -149.56, "987"), (-13.28, -176.17, "986"), (-22.27, 166.45, "988"),
         (-16.0, 179.99, None), (-16.0, -179.99, None), (78.22, 15.65, None),
         (-89.5, 0.0, None), (89.9, 10.0, None))


def _fields(index: int, rng: random.Random, city: str) -> dict[str, Any]:
    return {"name": f"Structure {rng.choice(['solidaire', 'coopérative', 'Émile'])} {index}",
            "city": city, "legal_form": rng.choice(FORMS), "source": "synthetic",
            "source_id": str(index)}


def france_records(count: int, seed: int = 7, first: int = 1) -> list[StoredRecord]:
    """`count` structures near population-weighted communes (a few at the world's edges)."""
    rng = random.Random(seed)  # noqa: S311  (test data)
    communes = [c for c in default_gazetteer() if c.kind == COMMUNE]
    weights = [max(c.population, 1) for c in communes]
    records = []
    for offset, commune in enumerate(rng.choices(communes, weights, k=count)):
        index = first + offset
        lat, lon = commune.lat + rng.uniform(-0.01, 0.01), commune.lon + rng.uniform(-0.01, 0.01)
        departement, region = commune.departement, commune.region
        if index % 500 == 0:
            lat, lon, departement = EDGES[(index // 500) % len(EDGES)]
            region = None
        if index % 97 == 0:  # a stack of structures at one commune centre
            lat, lon = commune.lat, commune.lon
        place = Placement(lat, lon, commune.code, departement, region, "municipality", "input")
        records.append(record(_fields(index, rng, commune.name), sectors(rng), place))
    return records


def sectors(rng: random.Random) -> tuple[str, ...]:
    """One sector, sometimes two."""
    return tuple(dict.fromkeys(rng.sample(SECTORS, rng.choice((1, 1, 1, 2)))))


def record(fields: dict[str, Any], categories: Sequence[str], place: Placement) -> StoredRecord:
    """A StoredRecord as the importer builds it."""
    row = organisation_row(fields, categories, place)
    return StoredRecord(key_for(fields, place.citycode), row, tuple(categories),
                        content_hash(row))


def write(engine: Engine, records: Sequence[StoredRecord], batch: int = 2000) -> None:
    """Write records through storage.write_batch, one transaction per batch."""
    for start in range(0, len(records), batch):
        with session_scope(engine) as session:
            write_batch(session=session, records=records[start : start + batch])


@dataclass(frozen=True)
class Stored:
    """What the brute-force answers need of a stored structure."""

    id: int
    lat: float
    lon: float
    categories: tuple[str, ...]
    legal_form: str | None
    region: str | None
    departement: str | None
    search_text: str


def stored(engine: Engine) -> list[Stored]:
    """Every stored structure."""
    query = text("SELECT id, lat, lon, categories, legal_form, region, departement, "
                 "search_text FROM organisation")
    with engine.connect() as connection:
        return [Stored(row[0], row[1], row[2], tuple(s for s in row[3].split("|") if s),
                       LegalForm[row[4]].value if row[4] else None, row[5], row[6], row[7])
                for row in connection.execute(query)]


def in_box(item: Stored, box: BBox) -> bool:
    """The inclusive box test, across the antimeridian too."""
    if not box.min_lat <= item.lat <= box.max_lat:
        return False
    if box.min_lon <= box.max_lon:
        return box.min_lon <= item.lon <= box.max_lon
    return item.lon >= box.min_lon or item.lon <= box.max_lon


def matches(item: Stored, filters: OrganisationFilter, *, skip: Iterable[str] = ()) -> bool:
    """The filters, checked one by one in Python (those in `skip` left out)."""
    checks = {
        "categories": not filters.categories
        or not set(filters.categories).isdisjoint(item.categories),
        "legal_forms": not filters.legal_forms or item.legal_form in filters.legal_forms,
        "regions": not filters.regions or item.region in filters.regions,
        "departements": not filters.departements or item.departement in filters.departements,
        "text": not filters.text or fold(filters.text) in item.search_text,
        "bbox": filters.bbox is None or in_box(item, filters.bbox),
    }
    return all(ok for name, ok in checks.items() if name not in skip)
