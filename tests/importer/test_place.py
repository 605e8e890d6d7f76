"""Placing rows: checked coordinates (département, overseas, swapped) or geocoded communes."""

from __future__ import annotations

from typing import Any

import pytest

from app.importer.faults import RowInvalid
from app.importer.pipeline import ImportContext
from app.importer.place import PlaceIndexes, Placer
from app.importer.validate import CleanRow
from app.storage import Placement


def place(context: ImportContext, lat: float | None = None, lon: float | None = None,
          **values: Any) -> tuple[Placement | RowInvalid, CleanRow]:
    """Place one row with the shipped gazetteer and reverse index."""
    row = CleanRow("f.csv", 5, {"name": "Atelier", **values}, ("habitat",), lat, lon)
    placer = Placer(PlaceIndexes(context.geocoder, context.gazetteer, context.reverse))
    return placer.place_rows([row])[0], row


def test_a_village_of_one_inhabitant_is_geocoded_to_its_commune(context: ImportContext) -> None:
    placement, row = place(context, postcode="26340", city="Rochefourchat")
    assert placement == Placement(44.60499, 5.24168, "26274", "26", "84", "municipality",
                                  "gazetteer")
    assert row.warnings == []


def test_coordinates_in_the_communes_departement_are_kept(context: ImportContext) -> None:
    placement, _ = place(context, 45.7676, 4.8344, postcode="69001", city="Lyon")
    assert placement == Placement(45.7676, 4.8344, "69381", "69", "84", "given", "input")


def test_coordinates_in_another_departement_are_rejected(context: ImportContext) -> None:
    placement, _ = place(context, 48.8566, 2.3522, postcode="69001", city="Lyon")
    assert isinstance(placement, RowInvalid)
    assert (placement.code, placement.field, placement.reason) == (
        "coordinates_wrong_departement", "lat",
        "coordinates (48.8566, 2.3522) are in Paris 4e Arrondissement (département 75), not in "
        "the département of Lyon 1er Arrondissement (69)")


def test_swapped_coordinates_are_swapped_back_with_a_warning(context: ImportContext) -> None:
    placement, row = place(context, 4.8421, 45.7485, postcode="69007", city="Lyon")
    assert placement == Placement(45.7485, 4.8421, "69387", "69", "84", "given", "input")
    assert row.warnings == [("latlon_swapped", "latitude and longitude are swapped: (4.8421, "
                             "45.7485) was read as (45.7485, 4.8421); fix the columns")]


@pytest.mark.parametrize(("lat", "lon", "departement"), [
    (-20.8823, 55.4504, "974"),  # Saint-Denis, La Réunion
    (14.6037, -61.0677, "972"),  # Fort-de-France, Martinique
    (-17.5350, -149.5696, "987"),  # Papeete, Polynésie française
    (-22.2758, 166.4580, "988"),  # Nouméa, Nouvelle-Calédonie
])
def test_points_overseas_are_in_france(
    context: ImportContext, lat: float, lon: float, departement: str
) -> None:
    placement, _ = place(context, lat, lon)
    assert isinstance(placement, Placement)
    assert placement.departement == departement


def test_a_point_outside_france_is_rejected(context: ImportContext) -> None:
    placement, _ = place(context, 0.0, 0.0)
    assert isinstance(placement, RowInvalid)
    assert (placement.code, placement.reason) == (
        "coordinates_outside_france",
        "coordinates (0.0, 0.0) are not in France nor in its overseas territories")


def test_a_row_without_any_place_is_rejected(context: ImportContext) -> None:
    placement, _ = place(context, siret="73282932000074")
    assert isinstance(placement, RowInvalid)
    assert (placement.code, placement.field) == ("no_place", "city")


def test_an_unknown_commune_cannot_be_located(context: ImportContext) -> None:
    placement, _ = place(context, city="Lyonville-sur-Mer")
    assert isinstance(placement, RowInvalid)
    assert (placement.code, placement.reason) == (
        "not_located", "cannot be located: no commune is named 'Lyonville-sur-Mer'")


def test_an_unknown_commune_next_to_coordinates_is_a_warning(context: ImportContext) -> None:
    placement, row = place(context, 45.7676, 4.8344, city="Lyonville-sur-Mer")
    assert isinstance(placement, Placement)
    assert row.warnings == [("commune_not_checked", "coordinates kept but not cross-checked "
                             "with the commune: no commune is named 'Lyonville-sur-Mer'")]
