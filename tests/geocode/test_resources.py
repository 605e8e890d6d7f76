"""Where geocode's shipped data is: inside the geocode package, found by importlib.resources."""

from __future__ import annotations

from pathlib import Path

import geocode
from geocode.gazetteer import COMMUNES_FILE, Gazetteer
from geocode.resources import package_data_file, shipped_file
from geocode.reverse import POLYGONS_FILE

PACKAGE_DIR = Path(geocode.__file__).parent


def test_the_gazetteer_and_polygons_ship_in_the_package_data_folder() -> None:
    assert shipped_file(COMMUNES_FILE) == PACKAGE_DIR / "data" / "communes.csv.gz"
    assert shipped_file(POLYGONS_FILE) == PACKAGE_DIR / "data" / "communes_polygons.bin.xz"
    assert shipped_file(POLYGONS_FILE).is_file()


def test_another_package_finds_its_own_data_folder() -> None:
    assert package_data_file("app", "categories.yaml") == (
        PACKAGE_DIR.parent / "app" / "data" / "categories.yaml")


def test_the_default_gazetteer_reads_the_shipped_file() -> None:
    assert len(Gazetteer.load()) == len(Gazetteer.load(shipped_file(COMMUNES_FILE)))
