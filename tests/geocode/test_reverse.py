from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import shapely

from geocode.gazetteer import default_gazetteer
from geocode.reverse import (
    Location,
    ReverseIndex,
    decode_polygons,
    default_reverse_index,
    encode_polygons,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "geocode" / "data"


@pytest.fixture(scope="module")
def index() -> ReverseIndex:
    return default_reverse_index()


def test_default_reverse_index_is_loaded_once() -> None:
    assert default_reverse_index() is default_reverse_index()


def test_index_has_a_polygon_per_commune_but_paris_lyon_marseille_and_4_cantal(
    index: ReverseIndex,
) -> None:
    assert len(index) == 34920 - 3 - 4


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (48.8566, 2.3522, Location("75104", "Paris 4e Arrondissement", "75", "11")),
        (45.7578, 4.8320, Location("69382", "Lyon 2e Arrondissement", "69", "84")),
        (43.2990, 5.3850, Location("13201", "Marseille 1er Arrondissement", "13", "93")),
        (41.9192, 8.7386, Location("2A004", "Ajaccio", "2A", "94")),
        (42.6977, 9.4500, Location("2B033", "Bastia", "2B", "94")),
        (-20.8823, 55.4504, Location("97411", "Saint-Denis", "974", "04")),
        (-12.7806, 45.2278, Location("97611", "Mamoudzou", "976", "06")),
        (4.9372, -52.3260, Location("97302", "Cayenne", "973", "03")),
        (44.0, 0.0, Location("40102", "Gabarret", "40", "75")),
        (48.5734, 7.7521, Location("67482", "Strasbourg", "67", "44")),
        # Pierrefitte-sur-Seine merged into Saint-Denis in 2025: its land is filled in.
        (48.9650, 2.3610, Location("93066", "Saint-Denis", "93", "11")),
        # The Biarritz lighthouse, 0.0026° off the generalised coastline, still counts.
        (43.4936, -1.5560, Location("64122", "Biarritz", "64", "75")),
    ],
)
def test_locate_known_points(
    index: ReverseIndex, lat: float, lon: float, expected: Location
) -> None:
    assert index.locate(lat, lon) == expected


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (50.8467, 4.3525),  # Brussels
        (46.2044, 6.1432),  # Geneva
        (43.7315, 7.4198),  # Monaco, the Prince's Palace
        (42.4638, 1.9806),  # Llívia, a Spanish enclave in the Pyrénées-Orientales
        (45.5, -3.0),  # Bay of Biscay
        (40.0, 0.0),  # Mediterranean, off Valencia
        (0.0, 0.0),
        (math.nan, 2.35),
        (95.0, 2.35),
        (48.85, 200.0),
    ],
)
def test_locate_outside_france_is_none(index: ReverseIndex, lat: float, lon: float) -> None:
    assert index.locate(lat, lon) is None


def test_departement_of_a_point_in_corsica(index: ReverseIndex) -> None:
    assert (index.departement_of(41.9192, 8.7386), index.departement_of(42.6977, 9.45)) == (
        "2A",
        "2B",
    )


def test_departement_of_the_sea_is_none(index: ReverseIndex) -> None:
    assert index.departement_of(45.5, -3.0) is None


def test_every_commune_point_lies_in_its_own_polygon(index: ReverseIndex) -> None:
    misplaced = sorted(
        commune.code
        for commune in default_gazetteer()
        if getattr(index.locate(commune.lat, commune.lon), "citycode", None) != commune.code
    )
    # Paris, Lyon, Marseille fall in an arrondissement; the 4 Cantal communes split from
    # Neussargues en Pinatelle in 2025 have no polygon of their own yet.
    assert misplaced == ["13055", "15031", "15035", "15047", "15171", "69123", "75056"]


def test_load_from_an_explicit_data_directory() -> None:
    loaded = ReverseIndex.load(DATA_DIR)
    assert loaded.departement_of(48.8566, 2.3522) == "75"


def test_polygons_survive_encoding_on_the_1e4_degree_grid() -> None:
    square = shapely.box(2.0, 48.0, 2.5, 48.5)
    with_hole = shapely.Polygon(
        shapely.box(0.0, 0.0, 1.0, 1.0).exterior.coords,
        [shapely.box(0.25, 0.25, 0.5, 0.5).exterior.coords],
    )
    islands = shapely.MultiPolygon(
        [shapely.box(-1.0, 43.0, -0.9, 43.1), shapely.box(-0.8, 43.0, -0.7, 43.12346)]
    )
    codes, polygons = decode_polygons(
        encode_polygons(["A", "B", "C"], [square, with_hole, islands])
    )
    expected = [
        shapely.MultiPolygon([square]),
        shapely.MultiPolygon([with_hole]),
        shapely.MultiPolygon(
            [shapely.box(-1.0, 43.0, -0.9, 43.1), shapely.box(-0.8, 43.0, -0.7, 43.1235)]
        ),
    ]
    assert codes == ["A", "B", "C"]
    assert all(shapely.equals_exact(polygons, np.array(expected), tolerance=1e-9))


def test_decoding_something_else_is_an_error() -> None:
    import lzma

    with pytest.raises(ValueError, match="not an ess-atlas polygons file"):
        decode_polygons(lzma.compress(b"PK\x03\x04 not polygons"))


def test_index_needs_one_location_per_polygon() -> None:
    with pytest.raises(ValueError, match="1 locations for 2 polygons"):
        ReverseIndex(
            [Location("1", "a", "01", "84")],
            np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2)]),
        )


def test_bounds_cover_each_commune_polygon(index: ReverseIndex) -> None:
    bounds = dict(index.bounds())
    assert len(bounds) == len(index)
    min_lon, min_lat, max_lon, max_lat = bounds["75104"]
    assert min_lon < 2.3522 < max_lon
    assert min_lat < 48.8566 < max_lat
    location = index.locate(48.8566, 2.3522)
    assert location is not None
    assert location.citycode == "75104"
