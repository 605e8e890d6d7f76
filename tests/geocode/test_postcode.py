"""The one postcode -> département rule, for every family of French postcodes."""

from __future__ import annotations

import pytest

from geocode.gazetteer import Gazetteer, default_gazetteer
from geocode.postcode import departements_of_postcode


@pytest.mark.parametrize(("postcode", "departements"), [
    ("01400", {"01"}), ("38041", {"38"}), ("75700", {"75"}),
    ("90000", {"90"}), ("91191", {"91"}), ("92190", {"92"}), ("93380", {"93"}),
    ("94000", {"94"}), ("95000", {"95"}),
])
def test_metropolitan_postcodes_and_cedex_codes_give_their_first_two_digits(
    postcode: str, departements: set[str]
) -> None:
    assert departements_of_postcode(postcode) == departements


@pytest.mark.parametrize(("postcode", "departements"), [
    ("20000", {"2A"}), ("20167", {"2A"}), ("20200", {"2B"}), ("20600", {"2B"}),
    ("20300", {"2A", "2B"}),
])
def test_corsican_postcodes_give_2a_or_2b(postcode: str, departements: set[str]) -> None:
    assert departements_of_postcode(postcode) == departements


@pytest.mark.parametrize(("postcode", "departements"), [
    ("97100", {"971"}), ("97200", {"972"}), ("97300", {"973"}), ("97400", {"974"}),
    ("97500", {"975"}), ("97600", {"976"}), ("97133", {"977"}), ("97150", {"978"}),
    ("98600", {"986"}), ("98714", {"987"}), ("98800", {"988"}),
])
def test_overseas_postcodes_give_their_first_three_digits_or_their_collectivity(
    postcode: str, departements: set[str]
) -> None:
    assert departements_of_postcode(postcode) == departements


@pytest.mark.parametrize("postcode", ["98000", "00100", "96000", "99000", "7500", "75O01",
                                      "７５００１"])
def test_monaco_and_impossible_codes_have_no_departement(postcode: str) -> None:
    assert departements_of_postcode(postcode) == frozenset()


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return default_gazetteer()


@pytest.mark.parametrize(("postcode", "city", "code"), [
    ("91191", "Gif-sur-Yvette", "91272"), ("92099", "Nanterre", "92050"),
    ("95091", "Cergy", "95127"), ("38041", "Grenoble", "38185"),
    ("20090", "Ajaccio", "2A004"), ("97405", "Saint-Denis", "97411"),
])
def test_cedex_codes_find_the_commune_by_name_in_their_departement(
    gazetteer: Gazetteer, postcode: str, city: str, code: str
) -> None:
    assert gazetteer.find(postcode, city).code == code


def test_a_postcode_serving_a_neighbouring_departement_counts_both(gazetteer: Gazetteer) -> None:
    served = {c.departement for c in gazetteer if "05110" in c.postcodes}
    assert gazetteer.departements_of_postcode("05110") == served | {"05"}
    assert len(served | {"05"}) == 2
