"""The place search behind /api/geocode: the map's search box.

Communes and postcodes come from the offline gazetteer, addresses from BAN/addok when
configured; when BAN cannot answer, the offline hits still come, with a warning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache

from app.config import Settings
from app.geocoder import ban_geocoder
from geocode.ban import ARRONDISSEMENT_CODES, QUERY_MIN_LENGTH, BanGeocoder
from geocode.base import GeocodeError, GeocodeResult
from geocode.chain import describe_error
from geocode.gazetteer import Commune, Gazetteer, default_gazetteer
from geocode.normalize import normalize_place_name, normalize_postcode
from geocode.reverse import default_reverse_index

logger = logging.getLogger(__name__)

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class PlaceHit:
    """One answer of the place search; `bbox` is [minLon, minLat, maxLon, maxLat] or None."""

    label: str
    kind: str
    lat: float
    lon: float
    citycode: str | None
    postcode: str | None
    departement: str | None
    bbox: BBox | None
    source: str


@dataclass(frozen=True)
class PlaceResults:
    """The hits of a place search, best first, and what could not be searched."""

    hits: tuple[PlaceHit, ...]
    warnings: tuple[str, ...] = ()


COMMUNE_KINDS = frozenset({"municipality", "postcode"})
_HOUSENUMBER = re.compile(r"\d{1,4}[a-z]?")
# Words that name a French street ("3 rue …", "quai de la Loire"), accents folded.
_STREET_TYPE = re.compile(
    r"\b(?:allee|av|avenue|bd|boulevard|chaussee|chemin|cite|cours|esplanade|faubourg|impasse"
    r"|lotissement|passage|place|promenade|quai|residence|route|rte|rue|sentier|square|voie)\b"
)
_NAME_AND_POSTCODE = re.compile(r"(?P<name>\D+?)\s*,?\s+(?P<postcode>\d{5})")
_POSTCODE_AND_NAME = re.compile(r"(?P<postcode>\d{5})\s*,?\s+(?P<name>\D+)")


def looks_like_address(text: str) -> bool:
    """True for "3 rue Albert Marquet" or "quai de la Loire"; False for a town or a postcode."""
    name = normalize_place_name(text)
    words = name.split()
    numbered = len(words) > 1 and _HOUSENUMBER.fullmatch(words[0]) is not None
    return numbered or _STREET_TYPE.search(name) is not None


@cache
def commune_bounds() -> dict[str, BBox]:
    """Bounding boxes of the shipped commune polygons by INSEE code (Paris, Lyon, Marseille too)."""
    bounds = {code: _rounded_box(box) for code, box in default_reverse_index().bounds()}
    for city, arrondissements in ARRONDISSEMENT_CODES.items():
        parts = [bounds[code] for code in arrondissements if code in bounds]
        if parts:
            bounds[city] = _union(parts)
    return bounds


def _rounded_box(row: Sequence[float]) -> BBox:
    return (round(row[0], 6), round(row[1], 6), round(row[2], 6), round(row[3], 6))


def _union(boxes: Sequence[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def commune_hit(commune: Commune, postcode: str | None = None) -> PlaceHit:
    """A commune as a search hit, labelled with its département ("Montreuil (93)")."""
    only = commune.postcodes[0] if len(commune.postcodes) == 1 else None
    return PlaceHit(
        label=f"{commune.name} ({commune.departement})",
        kind="municipality",
        lat=round(commune.lat, 6),
        lon=round(commune.lon, 6),
        citycode=commune.code,
        postcode=postcode or only,
        departement=commune.departement,
        bbox=commune_bounds().get(commune.code),
        source="gazetteer",
    )


def postcode_hit(commune: Commune, prefix: str) -> PlaceHit:
    """A commune found by (the start of) its postcode: "93100 Montreuil"."""
    postcode = next(code for code in commune.postcodes if code.startswith(prefix))
    hit = commune_hit(commune, postcode)
    return replace(hit, label=f"{postcode} {commune.name}", kind="postcode")


class PlaceSearch:
    """The search box's places: offline communes and postcodes, BAN/addok addresses if any."""

    def __init__(self, gazetteer: Gazetteer, ban: BanGeocoder | None = None) -> None:
        self.gazetteer = gazetteer
        self.ban = ban

    def close(self) -> None:
        """Close the BAN/addok connections."""
        if self.ban is not None:
            self.ban.close()

    def search(self, text: str, limit: int) -> PlaceResults:
        """Up to `limit` places: communes first unless `text` looks like an address."""
        text = " ".join(text.split())
        communes = self._communes(text, limit)
        addresses, warnings = self._addresses(text, limit)
        if looks_like_address(text):
            return PlaceResults(_merged(addresses, communes, limit), warnings)
        return PlaceResults(_merged(communes, addresses, limit), warnings)

    def _communes(self, text: str, limit: int) -> list[PlaceHit]:
        compact = "".join(text.split())
        if compact.isdigit():
            return [postcode_hit(c, compact) for c in self.gazetteer.search(compact, limit)]
        found = [commune_hit(commune) for commune in self.gazetteer.search(text, limit)]
        named = self._named_with_postcode(text)
        return [named, *found] if named is not None else found

    def _named_with_postcode(self, text: str) -> PlaceHit | None:
        """The commune of "Montreuil 93100" or "93100 Montreuil", when exactly one fits."""
        parts = _NAME_AND_POSTCODE.fullmatch(text) or _POSTCODE_AND_NAME.fullmatch(text)
        if parts is None:
            return None
        try:
            commune = self.gazetteer.find(parts["postcode"], parts["name"])
        except GeocodeError:
            return None
        return commune_hit(commune, normalize_postcode(parts["postcode"]))

    def _addresses(self, text: str, limit: int) -> tuple[list[PlaceHit], tuple[str, ...]]:
        if self.ban is None or len(text) < QUERY_MIN_LENGTH:
            return [], ()
        try:
            results = self.ban.search(text, limit=limit)
        except GeocodeError as error:
            logger.warning("address search failed for %r: %s", text, error)
            return [], (
                f"address search is unavailable ({describe_error(error)}): only "
                "communes and postcodes are listed",
            )
        return [self._address_hit(result) for result in results], ()

    def _address_hit(self, result: GeocodeResult) -> PlaceHit:
        commune = self.gazetteer.by_code(result.citycode) if result.citycode else None
        kind = str(result.precision)
        bbox = commune_bounds().get(commune.code) if commune and kind == "municipality" else None
        return PlaceHit(
            label=result.label,
            kind=kind,
            lat=round(result.lat, 6),
            lon=round(result.lon, 6),
            citycode=result.citycode,
            postcode=result.postcode,
            departement=commune.departement if commune else None,
            bbox=bbox,
            source=result.source,
        )


def _merged(first: list[PlaceHit], second: list[PlaceHit], limit: int) -> tuple[PlaceHit, ...]:
    """`first` then `second`, each place once; `second` keeps half the room if it needs it."""
    kept_first = _distinct(first, [])
    kept_second = _distinct(second, kept_first)
    room = max(limit - len(kept_second), (limit + 1) // 2)
    return tuple([*kept_first[:room], *kept_second][:limit])


def _distinct(hits: Iterable[PlaceHit], before: Sequence[PlaceHit]) -> list[PlaceHit]:
    """`hits` without a label twice nor a commune already listed (here or in `before`)."""
    labels = {hit.label for hit in before}
    communes = {hit.citycode for hit in before if hit.kind in COMMUNE_KINDS}
    kept: list[PlaceHit] = []
    for hit in hits:
        if hit.label in labels or (hit.kind == "municipality" and hit.citycode in communes):
            continue
        kept.append(hit)
        labels.add(hit.label)
        if hit.kind in COMMUNE_KINDS:
            communes.add(hit.citycode)
    return kept


def place_search(settings: Settings) -> PlaceSearch:
    """The place search for these settings (BAN/addok addresses when a URL is configured)."""
    return PlaceSearch(default_gazetteer(), ban_geocoder(settings, interactive=True))


def search_places(q: str, *, settings: Settings, limit: int) -> list[PlaceHit]:
    """Places for `q` under `settings` (a one-off search; the API keeps a PlaceSearch open)."""
    search = place_search(settings)
    try:
        return list(search.search(q, limit).hits)
    finally:
        search.close()
