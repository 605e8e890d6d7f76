from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import shapely

from app.regions import (
    DEPARTEMENTS_FILE,
    REGIONS_FILE,
    Departement,
    Region,
    departement_name,
    departement_region,
    list_departements,
    list_regions,
    locate,
    region_name,
)
from geocode.gazetteer import default_gazetteer
from geocode.reverse import Location

REPO = Path(__file__).resolve().parents[1]


def _features(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as geojson:
        features: list[dict[str, Any]] = json.load(geojson)["features"]
    return features


def test_list_regions_gives_the_18_regions_by_code() -> None:
    assert [region.code for region in list_regions()] == [
        "01", "02", "03", "04", "06", "11", "24", "27", "28", "32", "44", "52", "53", "75",
        "76", "84", "93", "94"]
    assert list_regions()[5] == Region("11", "Île-de-France")


def test_list_departements_gives_the_101_departements_overseas_included() -> None:
    departements = list_departements()
    assert len(departements) == 101
    assert departements[0] == Departement("01", "Ain", "84")
    assert departements[-1] == Departement("976", "Mayotte", "06")
    assert {"2A", "2B", "971", "972", "973", "974", "976"} <= {d.code for d in departements}
    assert "20" not in {d.code for d in departements}


@pytest.mark.parametrize(("code", "name"), [("11", "Île-de-France"), ("94", "Corse"),
                                            ("04", "La Réunion"), ("99", None), ("", None)])
def test_region_name(code: str, name: str | None) -> None:
    assert region_name(code) == name


@pytest.mark.parametrize(("code", "region"), [("75", "11"), ("2A", "94"), ("2b", "94"),
                                              ("974", "04"), ("20", None), ("977", None)])
def test_departement_region(code: str, region: str | None) -> None:
    assert departement_region(code) == region


def test_departement_name() -> None:
    assert (departement_name("2A"), departement_name("13"), departement_name("00")) == (
        "Corse-du-Sud", "Bouches-du-Rhône", None)


def test_every_departement_lies_in_a_listed_region() -> None:
    regions = {region.code for region in list_regions()}
    assert {departement.region for departement in list_departements()} == regions


def test_locate_delegates_to_the_reverse_index() -> None:
    assert locate(48.8566, 2.3522) == Location("75104", "Paris 4e Arrondissement", "75", "11")
    assert locate(50.8467, 4.3525) is None


@pytest.mark.parametrize(("path", "count"), [(REGIONS_FILE, 18), (DEPARTEMENTS_FILE, 101)])
def test_outlines_are_valid_polygons_with_4_decimals(path: Path, count: int) -> None:
    features = _features(path)
    geometries = [shapely.geometry.shape(feature["geometry"]) for feature in features]
    coordinates = shapely.get_coordinates(geometries)
    assert len(features) == count
    assert all(geometry.is_valid for geometry in geometries)
    assert {geometry.geom_type for geometry in geometries} <= {"Polygon", "MultiPolygon"}
    assert (abs(coordinates * 10_000 - (coordinates * 10_000).round()) < 1e-6).all()


def test_departement_outlines_do_not_overlap() -> None:
    geometries = [shapely.geometry.shape(f["geometry"]) for f in _features(DEPARTEMENTS_FILE)]
    assert shapely.coverage_is_valid(geometries)


def test_both_outline_files_weigh_less_than_2_mb() -> None:
    assert REGIONS_FILE.stat().st_size + DEPARTEMENTS_FILE.stat().st_size < 2_000_000


def test_outlines_hold_the_points_of_their_communes() -> None:
    outlines = {f["properties"]["code"]: shapely.geometry.shape(f["geometry"])
                for f in _features(DEPARTEMENTS_FILE)}
    shapely.prepare(list(outlines.values()))
    outside = [commune.code for commune in default_gazetteer()
               if not outlines[commune.departement].contains(shapely.Point(commune.lon,
                                                                           commune.lat))]
    # Île-de-Sein is smaller than the outline simplification tolerance.
    assert outside == ["29083"]


def test_regions_module_does_not_import_fastapi() -> None:
    script = "import sys, app.regions; print('fastapi' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                               text=True, check=True)
    assert completed.stdout == "False\n"
