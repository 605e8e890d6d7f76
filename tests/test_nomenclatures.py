"""NAF, catégories juridiques, headcount bands, labels and EPCI from the shipped lists."""

from __future__ import annotations

import re

import pytest

from app import nomenclatures
from app.taxonomy import LegalForm


def test_the_shipped_lists_have_their_official_sizes() -> None:
    assert len(nomenclatures.naf_codes()) == 732  # NAF rév. 2 has 732 sub-classes
    assert len(nomenclatures.headcount_bands()) == 16
    assert len([code for code in nomenclatures.legal_categories() if len(code) == 2]) == 39


@pytest.mark.parametrize(("raw", "code"), [("88.99B", "88.99B"), ("8899b", "88.99B"),
                                           (" 62.01Z ", "62.01Z")])
def test_naf_codes_are_normalised(raw: str, code: str) -> None:
    assert nomenclatures.clean_naf(raw) == code


@pytest.mark.parametrize("raw", ["88.99", "99.99Z", "8899", "NAF"])
def test_a_code_outside_naf_rev_2_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=re.escape("is not a sub-class of NAF rév. 2")):
        nomenclatures.clean_naf(raw)


def test_legal_categories_are_checked_against_the_insee_levels() -> None:
    assert nomenclatures.clean_legal_category("9220") == "9220"
    for raw in ("3000", "92", "92200", "abcd"):
        with pytest.raises(ValueError, match="is not an INSEE code"):
            nomenclatures.clean_legal_category(raw)


@pytest.mark.parametrize(("code", "family"), [
    ("9220", LegalForm.ASSOCIATION), ("9300", LegalForm.FONDATION),
    ("5458", LegalForm.COOPERATIVE), ("5558", LegalForm.COOPERATIVE),
    ("6317", LegalForm.COOPERATIVE), ("8210", LegalForm.MUTUELLE),
    ("5710", None), ("5499", None), ("5599", None), ("7210", None),
])
def test_the_ess_family_follows_the_legal_category(code: str, family: LegalForm | None) -> None:
    assert nomenclatures.family_of_category(code) is family


def test_headcount_bands_are_insee_tranche_codes() -> None:
    assert [nomenclatures.clean_headcount_band(raw) for raw in ("NN", "3", "53")] == [
        "NN", "03", "53"]
    with pytest.raises(ValueError, match="is not an INSEE tranche code"):
        nomenclatures.clean_headcount_band("04")


def test_labels_are_read_by_slug_or_alias() -> None:
    assert nomenclatures.clean_labels("ACI; Entreprise adaptée | tiers lieux") == (
        "aci|entreprise-adaptee|tiers-lieu")
    unknown = re.escape("label 'Fairtrade Max' is not in app/data/labels.yaml")
    with pytest.raises(ValueError, match=unknown):
        nomenclatures.clean_labels("ACI, Fairtrade Max")


def test_a_commune_and_its_arrondissements_share_their_epci() -> None:
    assert [nomenclatures.epci_of(code) for code in ("69123", "69381", "13201", None)] == [
        "200046977", "200046977", "200054807", None]


@pytest.mark.parametrize(("naf", "sector"), [("88.99B", "sante-action-sociale"),
                                             ("47.21Z", "alimentation"),
                                             ("47.11B", None), ("94.99Z", None)])
def test_naf_codes_map_to_default_sectors_by_longest_prefix(naf: str, sector: str | None) -> None:
    assert nomenclatures.sector_of_naf(naf) == sector
