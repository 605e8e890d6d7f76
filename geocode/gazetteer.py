"""Offline gazetteer: every French commune and municipal arrondissement, found without network.

The data is `communes.csv.gz`, shipped in geocode/data/ and rebuilt by
`data/scripts/build_gazetteer.py`.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import heapq
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from geocode.base import (
    AddressQuery,
    AmbiguousPlace,
    GeocodeResult,
    PlaceNotFound,
    Precision,
)
from geocode.normalize import normalize_place_name, normalize_postcode
from geocode.postcode import departements_of_postcode
from geocode.resources import shipped_file

COMMUNES_FILE = "communes.csv.gz"
SOURCE = "gazetteer"
COMMUNE = "COM"
ARRONDISSEMENT = "ARM"
# Scores below 1.0 say the name or postcode did not match exactly but still decided.
FALLBACK_SCORE = 0.8
CSV_COLUMNS = ("code", "name", "kind", "postcodes", "lat", "lon", "departement", "region",
               "population", "former_names")
FRENCH_COUNTRY_CODES = frozenset({"FR", "FRA", "FRANCE", "GP", "MQ", "GF", "RE", "YT"})
_ARRONDISSEMENT_NAME = re.compile(
    r"(?P<city>.+?) (?P<number>\d{1,2}|[ivxl]+) ?"
    r"(?:er|ere|re|e|eme|ieme|nd|nde)?(?: arrondissement| arrdt| arrt| arr)?"
)
_ROMAN_DIGITS = {"i": 1, "v": 5, "x": 10, "l": 50}


@dataclass(frozen=True)
class Commune:
    """A commune (kind COM) or a municipal arrondissement of Paris, Lyon or Marseille (ARM)."""

    code: str
    name: str
    kind: str
    postcodes: tuple[str, ...]
    lat: float
    lon: float
    departement: str
    region: str
    population: int


@dataclass(frozen=True)
class _Match:
    commune: Commune
    exact: bool = True
    note: str | None = None


class Gazetteer:
    """Every commune, indexed by INSEE code, normalised name and postcode."""

    def __init__(
        self,
        communes: Iterable[Commune],
        former_names: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._communes = tuple(sorted(communes, key=lambda commune: commune.code))
        self._by_code = {commune.code: commune for commune in self._communes}
        names = [(normalize_place_name(c.name), c.code) for c in self._communes]
        self._names_sorted = sorted([*names, *_without_article(names)])
        self._by_name = _group((name, self._by_code[code]) for name, code in self._names_sorted)
        self._by_former_name = _former_name_index(self._by_code, former_names or {})
        self._arrondissements = _arrondissement_index(self._communes)
        self._cities_with_arrondissements = _cities_with_arrondissements(
            self._communes, self._arrondissements
        )
        leaves = [c for c in self._communes if c.code not in self._cities_with_arrondissements]
        self._postcodes_sorted = sorted((postcode, c.code) for c in leaves
                                        for postcode in c.postcodes)
        self._by_postcode = _group((postcode, self._by_code[code])
                                   for postcode, code in self._postcodes_sorted)

    @classmethod
    def load(cls, path: Path | None = None) -> Gazetteer:
        """Read the gazetteer from a data directory or file (default: the shipped one)."""
        source = path or shipped_file(COMMUNES_FILE)
        if source.is_dir():
            source = source / COMMUNES_FILE
        with gzip.open(source, "rt", encoding="utf-8", newline="") as lines:
            rows = csv.reader(lines)
            if tuple(next(rows)) != CSV_COLUMNS:
                raise ValueError(f"{source} does not have the columns {', '.join(CSV_COLUMNS)}")
            communes_and_former_names = [_commune_from_row(row) for row in rows]
        former_names = {commune.code: names for commune, names in communes_and_former_names}
        return cls((commune for commune, _ in communes_and_former_names), former_names)

    def __len__(self) -> int:
        """Number of communes and arrondissements."""
        return len(self._communes)

    def __iter__(self) -> Iterator[Commune]:
        """Every commune and arrondissement, by INSEE code."""
        return iter(self._communes)

    def by_code(self, code: str) -> Commune | None:
        """The commune with this INSEE code ("2A004", "75119"), or None."""
        return self._by_code.get(code.strip().upper())

    def find(self, postcode: str | None = None, city: str | None = None) -> Commune:
        """The one commune named `city` and/or served by `postcode`; raise rather than guess."""
        return self._resolve(postcode, city).commune

    def geocode(self, query: AddressQuery) -> GeocodeResult:
        """Locate `query` at the point of its commune, without network."""
        if query.country.strip().upper() not in FRENCH_COUNTRY_CODES:
            raise PlaceNotFound(f"the gazetteer only knows France, not {query.country!r}")
        match = self._match_query(query)
        return _result(match, normalize_postcode(query.postcode))

    def search(self, text: str, limit: int = 10) -> list[Commune]:
        """Communes for a search box: name or postcode prefix, exact first, then most populous."""
        compact = "".join(text.split())
        if limit <= 0 or not compact:
            return []
        if compact.isdigit():
            return self._search_sorted(self._postcodes_sorted, compact, limit)
        name = normalize_place_name(text)
        if not name:
            return []
        found = self._search_sorted(self._names_sorted, name, limit)
        arrondissement = self._arrondissement_named(name)
        if arrondissement is None or arrondissement in found:
            return found
        return [arrondissement, *found][:limit]

    def _search_sorted(self, keys: list[tuple[str, str]], prefix: str, limit: int) -> list[Commune]:
        start = bisect.bisect_left(keys, (prefix, ""))
        # Every key starting with `prefix` sorts before prefix + the highest code point.
        end = bisect.bisect_left(keys, (prefix + "\U0010ffff", ""), lo=start)
        ranked: dict[str, tuple[int, int, str]] = {}
        for key, code in keys[start:end]:
            rank = (0 if key == prefix else 1, -self._by_code[code].population, code)
            ranked[code] = min(rank, ranked.get(code, rank))
        best = heapq.nsmallest(limit, ranked.values())
        return [self._by_code[code] for _, _, code in best]

    def _match_query(self, query: AddressQuery) -> _Match:
        if query.citycode:
            commune = self.by_code(query.citycode)
            if commune is not None:
                return _Match(commune)
            if not (query.postcode or query.city):
                raise PlaceNotFound(f"no commune has the INSEE code {query.citycode!r}")
        return self._resolve(query.postcode, query.city)

    def _resolve(self, postcode: str | None, city: str | None) -> _Match:
        wanted_postcode = normalize_postcode(postcode)
        name = normalize_place_name(city) if city else ""
        if not name:
            return self._by_postcode_alone(wanted_postcode, postcode)
        arrondissement = self._arrondissement_named(name)
        if arrondissement is not None:
            return _Match(arrondissement)
        if name in self._by_name:
            return self._by_name_and_postcode(self._by_name[name], wanted_postcode, city)
        if name in self._by_former_name:
            match = self._by_name_and_postcode(self._by_former_name[name], wanted_postcode, city)
            return _Match(match.commune, exact=False, note=f"{city!r} is a former commune name")
        raise PlaceNotFound(f"no commune is named {city!r}")

    def _by_postcode_alone(self, postcode: str | None, raw_postcode: str | None) -> _Match:
        if postcode is None:
            raise PlaceNotFound(f"no city name and no valid postcode (got {raw_postcode!r})")
        candidates = self._by_postcode.get(postcode)
        if not candidates:
            raise PlaceNotFound(f"postcode {postcode} serves no known commune (CEDEX codes "
                                "need the city name)")
        return _Match(_only(candidates, f"postcode {postcode}"))

    def _by_name_and_postcode(
        self, candidates: list[Commune], postcode: str | None, city: str | None
    ) -> _Match:
        if postcode is None:
            return _Match(_only(candidates, f"the name {city!r}", hint="; give a postcode"))
        served = [commune for commune in candidates if postcode in commune.postcodes]
        if served:
            commune = _only(served, f"the name {city!r} with postcode {postcode}")
            return _Match(self._arrondissement_serving(commune, postcode) or commune)
        return self._by_name_in_departement(candidates, postcode, city)

    def _by_name_in_departement(
        self, candidates: list[Commune], postcode: str, city: str | None
    ) -> _Match:
        departements = self.departements_of_postcode(postcode)
        nearby = [commune for commune in candidates if commune.departement in departements]
        if not nearby:
            raise PlaceNotFound(f"no commune named {city!r} near postcode {postcode}")
        commune = _only(nearby, f"the name {city!r} in the département of postcode {postcode}")
        note = f"postcode {postcode} is not {commune.name}'s; matched by name in its département"
        return _Match(commune, exact=False, note=note)

    def departements_of_postcode(self, postcode: str) -> frozenset[str]:
        """The départements of the communes `postcode` serves, and the one its digits name."""
        served = {commune.departement for commune in self._by_postcode.get(postcode, [])}
        return departements_of_postcode(postcode) | served

    def _arrondissement_named(self, name: str) -> Commune | None:
        parsed = _ARRONDISSEMENT_NAME.fullmatch(name)
        if parsed is None or parsed["city"] not in self._arrondissements:
            return None
        return self._arrondissements[parsed["city"]].get(_arrondissement_number(parsed["number"]))

    def _arrondissement_serving(self, commune: Commune, postcode: str) -> Commune | None:
        if commune.code not in self._cities_with_arrondissements:
            return None
        served = [c for c in self._by_postcode.get(postcode, []) if c.kind == ARRONDISSEMENT
                  and c.departement == commune.departement]
        return served[0] if len(served) == 1 else None


def _only(candidates: Sequence[Commune], what: str, hint: str = "") -> Commune:
    """The single candidate; AmbiguousPlace naming them all when there are several."""
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise PlaceNotFound(f"no commune matches {what}")
    listed = ", ".join(f"{c.name} ({c.code})" for c in candidates[:10])
    more = f" and {len(candidates) - 10} more" if len(candidates) > 10 else ""
    raise AmbiguousPlace(f"{len(candidates)} communes match {what}: {listed}{more}{hint}")


def _result(match: _Match, wanted_postcode: str | None) -> GeocodeResult:
    commune = match.commune
    postcode = wanted_postcode if wanted_postcode in commune.postcodes else None
    if postcode is None and len(commune.postcodes) == 1:
        postcode = commune.postcodes[0]
    return GeocodeResult(
        lat=commune.lat,
        lon=commune.lon,
        label=f"{commune.name} ({postcode})" if postcode else commune.name,
        score=1.0 if match.exact else FALLBACK_SCORE,
        precision=Precision.MUNICIPALITY,
        source=SOURCE,
        citycode=commune.code,
        postcode=postcode,
        notes=(match.note,) if match.note else (),
    )


_ARTICLES = ("le ", "la ", "les ", "l ")


def _without_article(names: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Aliases without the leading article ("havre" for "le havre"), unless a name is taken."""
    taken = {name for name, _ in names}
    aliases = []
    for name, code in names:
        article = next((a for a in _ARTICLES if name.startswith(a)), None)
        if article and name[len(article):] not in taken:
            aliases.append((name[len(article):], code))
    return aliases


def _group(pairs: Iterable[tuple[str, Commune]]) -> dict[str, list[Commune]]:
    grouped: defaultdict[str, list[Commune]] = defaultdict(list)
    for key, commune in pairs:
        grouped[key].append(commune)
    return dict(grouped)


def _former_name_index(
    by_code: Mapping[str, Commune], former_names: Mapping[str, Sequence[str]]
) -> dict[str, list[Commune]]:
    index: defaultdict[str, list[Commune]] = defaultdict(list)
    for code in sorted(former_names):
        for name in sorted({normalize_place_name(name) for name in former_names[code]}):
            index[name].append(by_code[code])
    return dict(index)


def _arrondissement_index(communes: Iterable[Commune]) -> dict[str, dict[int, Commune]]:
    """Arrondissements by city key and number: {"paris": {19: Paris 19e Arrondissement}}."""
    index: defaultdict[str, dict[int, Commune]] = defaultdict(dict)
    for commune in communes:
        parsed = _ARRONDISSEMENT_NAME.fullmatch(normalize_place_name(commune.name))
        if commune.kind == ARRONDISSEMENT and parsed is not None:
            index[parsed["city"]][_arrondissement_number(parsed["number"])] = commune
    return dict(index)


def _cities_with_arrondissements(
    communes: Sequence[Commune], arrondissements: Mapping[str, Mapping[int, Commune]]
) -> frozenset[str]:
    """INSEE codes of the communes split into arrondissements: Paris, Lyon and Marseille."""
    city_departements = {(city, next(iter(by_number.values())).departement)
                         for city, by_number in arrondissements.items()}
    departements = {departement for _, departement in city_departements}
    return frozenset(c.code for c in communes if c.kind == COMMUNE and c.departement in
                     departements and (normalize_place_name(c.name), c.departement)
                     in city_departements)


def _arrondissement_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    values = [_ROMAN_DIGITS[digit] for digit in text]
    pairs = zip(values, [*values[1:], 0], strict=True)
    # A numeral smaller than the one after it is subtracted: "xix" = 10 - 1 + 10.
    return sum(-value if value < following else value for value, following in pairs)


def _commune_from_row(row: Sequence[str]) -> tuple[Commune, list[str]]:
    """A commune and its former names from one row in CSV_COLUMNS order."""
    code, name, kind, postcodes, lat, lon, departement, region, population, former = row
    commune = Commune(code, name, kind, tuple(postcodes.split()), float(lat), float(lon),
                      departement, region, int(population))
    return commune, former.split("|") if former else []


@cache
def default_gazetteer() -> Gazetteer:
    """The gazetteer shipped with geocode, loaded once."""
    return Gazetteer.load()
