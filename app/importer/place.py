"""Where each row is: its own coordinates (checked), or its address geocoded in batches.

Given coordinates must fall in the département of the commune the row names (or, with
no commune, somewhere in France or its overseas territories). Coordinates that only fit
once latitude and longitude are swapped are swapped, and the row says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from app.geocoder import commune_level_only
from app.importer.faults import RowInvalid
from app.importer.validate import CleanRow
from app.storage import Placement
from geocode.base import AddressQuery, GeocodeError, Geocoder, GeocodeResult
from geocode.chain import BatchGeocoder
from geocode.gazetteer import Commune, Gazetteer
from geocode.reverse import Location

GIVEN_PRECISION = "given"
GIVEN_SOURCE = "input"
# Overseas collectivities without INSEE communes in the gazetteer: (code, name, S, N, W, E).
OVERSEAS_COLLECTIVITIES = (
    ("975", "Saint-Pierre-et-Miquelon", 46.7, 47.2, -56.5, -56.1),
    ("977", "Saint-Barthélemy", 17.85, 17.98, -62.95, -62.78),
    ("978", "Saint-Martin", 18.0, 18.15, -63.2, -62.95),
    ("986", "Wallis-et-Futuna", -14.5, -13.1, -178.3, -176.0),
    ("987", "Polynésie française", -28.0, -7.5, -155.0, -134.0),
    ("988", "Nouvelle-Calédonie", -23.0, -19.5, 163.5, 168.3),
)


class ReverseLookup(Protocol):
    """Point -> commune (a ReverseIndex, or anything that answers like one)."""

    def locate(self, lat: float, lon: float) -> Location | None:
        """The commune containing (lat, lon), or None outside France."""
        ...


@dataclass(frozen=True)
class PlaceIndexes:
    """What locating needs: a geocoder and the offline commune indexes."""

    geocoder: Geocoder
    gazetteer: Gazetteer
    reverse: ReverseLookup


def _overseas(lat: float, lon: float) -> Location | None:
    """An overseas collectivity containing the point (by bounding box), or None."""
    for code, name, south, north, west, east in OVERSEAS_COLLECTIVITIES:
        if south <= lat <= north and west <= lon <= east:
            return Location(citycode="", name=name, departement=code, region="")
    return None


def _locate(lat: float, lon: float, indexes: PlaceIndexes) -> Location | None:
    """The commune (or overseas collectivity) of a point, or None outside France."""
    return indexes.reverse.locate(lat, lon) or _overseas(lat, lon)


def _stated_commune(row: CleanRow, gazetteer: Gazetteer) -> Commune | None:
    """The commune the row names by INSEE code, or by postcode and city; None if unsure."""
    values = row.values
    if values.get("citycode"):
        return gazetteer.by_code(values["citycode"])
    if not (values.get("postcode") or values.get("city")):
        return None
    try:
        return gazetteer.find(values.get("postcode"), values.get("city"))
    except GeocodeError as error:
        row.warnings.append(("commune_not_checked", f"coordinates kept but not cross-checked "
                             f"with the commune: {error}"))
        return None


def _fits(location: Location | None, stated: Commune | None) -> bool:
    """True when a located point agrees with the commune the row names."""
    return location is not None and (stated is None or location.departement == stated.departement)


def _given_placement(
    lat: float, lon: float, location: Location, stated: Commune | None
) -> Placement:
    """A placement at the row's own point; codes from the named commune when there is one."""
    if stated is not None:
        return Placement(lat, lon, stated.code, stated.departement, stated.region,
                         GIVEN_PRECISION, GIVEN_SOURCE)
    return Placement(lat, lon, location.citycode or None, location.departement,
                     location.region or None, GIVEN_PRECISION, GIVEN_SOURCE)


def _misplaced(
    lat: float, lon: float, location: Location | None, stated: Commune | None
) -> RowInvalid:
    """The rejection of coordinates that fit neither as given nor swapped."""
    if location is None or stated is None:
        return RowInvalid(f"coordinates ({lat}, {lon}) are not in France nor in its overseas "
                          "territories", "lat", code="coordinates_outside_france")
    return RowInvalid(
        f"coordinates ({lat}, {lon}) are in {location.name} (département {location.departement}),"
        f" not in the département of {stated.name} ({stated.departement})",
        "lat", code="coordinates_wrong_departement",
    )


def place_from_coordinates(
    row: CleanRow, lat: float, lon: float, indexes: PlaceIndexes
) -> Placement:
    """Check a row's own coordinates (swapping them when only that fits) and place it."""
    stated = _stated_commune(row, indexes.gazetteer)
    location = _locate(lat, lon, indexes)
    if location is not None and _fits(location, stated):
        return _given_placement(lat, lon, location, stated)
    swapped = _locate(lon, lat, indexes) if -90 <= lon <= 90 else None
    if swapped is not None and _fits(swapped, stated):
        row.warnings.append(("latlon_swapped", f"latitude and longitude are swapped: ({lat}, "
                             f"{lon}) was read as ({lon}, {lat}); fix the columns"))
        return _given_placement(lon, lat, swapped, stated)
    raise _misplaced(lat, lon, location, stated)


QueryKey = tuple[str | None, str | None, str | None, str | None, str]
_ADDRESS_FIELDS = ("street", "postcode", "city", "citycode")


def _query_key(row: CleanRow, *, with_street: bool) -> QueryKey:
    """The fields of the row's AddressQuery, in its order (street left out if asked)."""
    values = row.values
    street = values.get("street") if with_street else None
    return (street, values.get("postcode"), values.get("city"), values.get("citycode"),
            values.get("country") or "FR")


def _geocode_all(
    queries: list[AddressQuery], geocoder: Geocoder
) -> list[GeocodeResult | GeocodeError]:
    """Answers for every query: the batch path when the geocoder has one."""
    if isinstance(geocoder, BatchGeocoder):
        return geocoder.geocode_many(queries)
    answers: list[GeocodeResult | GeocodeError] = []
    for query in queries:
        try:
            answers.append(geocoder.geocode(query))
        except GeocodeError as error:
            answers.append(error)
    return answers


def _geocoded_placement(result: GeocodeResult, indexes: PlaceIndexes) -> Placement:
    """A placement from a geocoder's answer, with its commune's codes."""
    citycode, departement, region = _codes_of(result, indexes)
    return Placement(result.lat, result.lon, citycode, departement, region,
                     str(result.precision), result.source)


def _codes_of(
    result: GeocodeResult, indexes: PlaceIndexes
) -> tuple[str | None, str | None, str | None]:
    """Commune, département and région of an answer: by its INSEE code, else by its point."""
    commune = indexes.gazetteer.by_code(result.citycode) if result.citycode else None
    if commune is not None:
        return commune.code, commune.departement, commune.region
    location = _locate(result.lat, result.lon, indexes)
    if location is None:
        return result.citycode, None, None
    return location.citycode or None, location.departement, location.region or None


Answer = tuple[Placement, tuple[str, ...]] | RowInvalid
_NOT_PLACED = RowInvalid("not placed yet")


class Placer:
    """Places the rows of one run; an address is geocoded once per run, in batches."""

    def __init__(self, indexes: PlaceIndexes) -> None:
        self.indexes = indexes
        # A commune-level geocoder's answer never depends on the street.
        self._with_street = not commune_level_only(indexes.geocoder)
        self._answers: dict[QueryKey, Answer] = {}

    def _answer(self, result: GeocodeResult | GeocodeError) -> Answer:
        if isinstance(result, GeocodeError):
            return RowInvalid(f"cannot be located: {result}", "city", code="not_located")
        return _geocoded_placement(result, self.indexes), result.notes

    def _geocode(self, keys: list[QueryKey]) -> None:
        """Ask the geocoder, in one batch, about the addresses not seen yet in this run."""
        new = [key for key in dict.fromkeys(keys) if key not in self._answers]
        results = _geocode_all([AddressQuery(*key) for key in new], self.indexes.geocoder)
        self._answers.update((key, self._answer(result))
                             for key, result in zip(new, results, strict=True))

    def _from_answer(self, row: CleanRow, key: QueryKey) -> Placement | RowInvalid:
        answer = self._answers[key]
        if isinstance(answer, RowInvalid):
            return answer
        placement, notes = answer
        row.warnings.extend(("geocode_note", note) for note in notes)
        return placement

    def place_rows(self, rows: Sequence[CleanRow]) -> list[Placement | RowInvalid]:
        """Place every row: checked coordinates, or its address geocoded."""
        placed: list[Placement | RowInvalid] = []
        waiting: list[tuple[int, QueryKey]] = []
        for index, row in enumerate(rows):
            if row.lat is not None and row.lon is not None:
                placed.append(_checked_coordinates(row, row.lat, row.lon, self.indexes))
            elif not any(row.values.get(name) for name in _ADDRESS_FIELDS):
                placed.append(RowInvalid("no coordinates and no address, postcode or commune to "
                                         "locate it", "city", code="no_place"))
            else:
                placed.append(_NOT_PLACED)
                waiting.append((index, _query_key(row, with_street=self._with_street)))
        self._geocode([key for _, key in waiting])
        for index, key in waiting:
            placed[index] = self._from_answer(rows[index], key)
        return placed


def _checked_coordinates(
    row: CleanRow, lat: float, lon: float, indexes: PlaceIndexes
) -> Placement | RowInvalid:
    """`place_from_coordinates`, with its rejection returned rather than raised."""
    try:
        return place_from_coordinates(row, lat, lon, indexes)
    except RowInvalid as invalid:
        return invalid
