"""Row checks: names, identifiers, contacts, coordinates, sectors and legal forms."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from import_helpers import REPOSITORY

from app.importer.columns import ColumnMapping, normalise_header
from app.importer.faults import RowInvalid
from app.importer.validate import CategoryMatcher, CleanRow, clean_row, legal_family
from app.taxonomy import LegalForm, load_taxonomy

TAXONOMY = load_taxonomy(REPOSITORY / "app" / "data" / "categories.yaml")


def clean(*, strict: bool = False, **values: Any) -> CleanRow:
    """Clean a row of a sector-tagged structure in Lyon, with these values on top (None: absent)."""
    row = {"name": "Atelier", "postcode": "69001", "city": "Lyon", "categories": "habitat"}
    row.update(values)
    row = {name: value for name, value in row.items() if value is not None}
    matcher = CategoryMatcher(TAXONOMY, ColumnMapping(), strict=strict)
    return clean_row(row, matcher, file="f.csv", line=7)


def rejection(**values: Any) -> tuple[str, str | None, str]:
    """(code, field, reason) of a row that must be rejected."""
    with pytest.raises(RowInvalid) as caught:
        clean(**values)
    return caught.value.code, caught.value.field, caught.value.reason


def dropped(field: str, **values: Any) -> str:
    """The warning of a row kept without `field`, which was wrong (the only warning)."""
    row = clean(**values)
    assert field not in row.values
    [(code, message)] = row.warnings
    assert code == "field_dropped"
    return message


def rejection_without_place(**values: Any) -> tuple[str, str | None, str]:
    """(code, field, reason) of a row with no address whose problems leave it nowhere."""
    return rejection(postcode=None, city=None, **values)


def test_spaces_in_a_siret_are_removed_and_the_siren_is_derived() -> None:
    row = clean(siret="732 829 320 00074")
    assert (row.values["siret"], row.values["siren"]) == ("73282932000074", "732829320")


def test_a_siret_failing_luhn_is_dropped_and_the_structure_kept() -> None:
    assert dropped("siret", siret="73282932000075") == (
        "siret dropped, the structure is kept: SIRET 73282932000075 fails its checksum")


def test_a_siret_whose_siren_fails_luhn_is_dropped_and_no_siren_is_derived() -> None:
    assert dropped("siren", siret="94580730215736") == (
        "siret dropped, the structure is kept: "
        "SIRET 94580730215736 starts with SIREN 945807302, which fails its checksum (Luhn)")


def test_a_la_poste_siret_numbered_by_its_digit_sum_and_not_luhn_is_kept() -> None:
    row = clean(siret="35600000049837")
    assert (row.values["siret"], row.values["siren"], row.warnings) == (
        "35600000049837", "356000000", [])


def test_a_siren_failing_luhn_is_dropped_with_the_reason_of_the_shared_check() -> None:
    assert dropped("siren", siren="732829321") == (
        "siren dropped, the structure is kept: SIREN 732829321 fails its checksum (Luhn)")


@pytest.mark.parametrize(("given", "stored"), [("FR", "FR"), ("be", "BE"), ("France", "FR")])
def test_a_country_is_stored_as_its_iso_code(given: str, stored: str) -> None:
    assert clean(country=given).values["country"] == stored


def test_a_bad_siret_rejects_a_row_that_has_no_place_naming_every_problem() -> None:
    with pytest.raises(RowInvalid) as caught:
        clean(postcode=None, city=None, siret="73282932000075", website="www.accueil paysan.fr")
    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("siret_invalid", "siret"), ("website_invalid", "website")]
    assert caught.value.reason == ("SIRET 73282932000075 fails its checksum; website "
                                   "'www.accueil paysan.fr' is not an http(s) address")


def test_la_poste_establishments_follow_their_own_checksum() -> None:
    assert clean(siret="35600000000048").values["siret"] == "35600000000048"
    assert clean(siret="35600000049837").values["siret"] == "35600000049837"


def test_excel_scientific_notation_is_reported_as_such() -> None:
    assert rejection_without_place(siret="7,32829E+13") == (
        "siret_invalid", "siret", "SIRET '7,32829E+13' was turned into a number in scientific "
        "notation by a spreadsheet; format the column as text and export again")


def test_identifiers_take_ascii_digits_only() -> None:
    assert rejection_without_place(siren="７３２８２９３２０") == (
        "siren_invalid", "siren", "SIREN must contain ASCII digits only, got '７３２８２９３２０'")


def test_a_siret_of_another_siren_is_rejected() -> None:
    assert rejection_without_place(siret="73282932000074", siren="552100554") == (
        "siret_siren_mismatch", "siret", "SIRET 73282932000074 does not start with SIREN 552100554")


def test_rna_numbers_are_normalised_and_checked() -> None:
    assert clean(rna="w69 123 4567").values["rna"] == "W691234567"
    assert rejection_without_place(rna="123")[0] == "rna_invalid"


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("email", "contact(at)asso.fr", "email 'contact(at)asso.fr' is not an email address"),
    ("website", "htp//www", "website 'htp//www' is not an http(s) address"),
    ("phone", "appelez-nous", "phone 'appelez-nous' is not a phone number"),
])
def test_contacts_of_the_wrong_shape_are_dropped_with_a_warning(
    field: str, value: str, reason: str
) -> None:
    assert dropped(field, **{field: value}) == f"{field} dropped, the structure is kept: {reason}"


def test_a_website_with_a_space_is_dropped_and_the_association_kept() -> None:
    row = clean(website="www.accueil paysan.fr", email="contact@accueil-paysan.fr")
    assert row.values["email"] == "contact@accueil-paysan.fr"
    assert "website" not in row.values


def test_a_bare_domain_becomes_an_https_address() -> None:
    assert clean(website="www.cafe-oeuf.fr").values["website"] == "https://www.cafe-oeuf.fr"


def test_a_name_is_required_and_its_spaces_are_normalised() -> None:
    assert clean(name="  Café   solidaire ").values["name"] == "Café solidaire"
    assert rejection(name="   ") == ("name_missing", "name", "a name is required")


def test_coordinates_accept_a_decimal_comma() -> None:
    row = clean(lat="45,7676", lon=" 4,8344 ")
    assert (row.lat, row.lon) == (45.7676, 4.8344)


@pytest.mark.parametrize(("values", "expected"), [
    ({"lat": "45.7"}, ("lon_invalid", "lon", "latitude and longitude go together: give both "
                       "or neither")),
    ({"lat": "nord", "lon": "4.8"}, ("lat_invalid", "lat", "lat 'nord' is not a number")),
    ({"lat": "95", "lon": "4.8"}, ("lat_invalid", "lat", "lat '95' is outside [-90, 90]")),
    ({"lat": "6520000", "lon": "842000"}, ("coordinates_projected", "lat", "lat '6520000' looks "
                                           "like projected metres (Lambert-93?); give WGS84 "
                                           "degrees")),
])
def test_unusable_coordinates_reject_a_row_without_an_address(
    values: dict[str, str], expected: tuple[str, str, str]
) -> None:
    assert rejection_without_place(**values) == expected


def test_unusable_coordinates_are_dropped_when_the_address_can_place_the_row() -> None:
    row = clean(lat="nord", lon="4.8")
    assert (row.lat, row.lon, row.warnings) == (None, None, [
        ("field_dropped", "lat dropped, the structure is kept: lat 'nord' is not a number")])


def test_sectors_match_slugs_and_french_or_english_labels() -> None:
    row = clean(categories="Alimentation | Housing; reemploi")
    assert row.categories == ("alimentation", "habitat", "reemploi")
    assert row.warnings == []


def test_unknown_sectors_next_to_known_ones_are_dropped_with_a_warning() -> None:
    row = clean(categories="alimentation|Maraîchage bio")
    assert (row.categories, row.unknown_sectors) == (("alimentation",), ("Maraîchage bio",))
    assert row.warnings == [("category_unknown", "unknown sectors ignored: Maraîchage bio")]


def test_a_row_whose_only_sector_is_unknown_is_filed_under_non_classe() -> None:
    row = clean(categories="Maraîchage bio")
    assert (row.categories, row.unknown_sectors) == (("non-classe",), ("Maraîchage bio",))
    assert row.warnings == [("category_unknown",
                             "unknown sectors filed under non-classe: Maraîchage bio")]


def test_strict_sectors_reject_a_row_whose_only_sector_is_unknown() -> None:
    with pytest.raises(RowInvalid) as caught:
        clean(categories="Maraîchage bio", strict=True)
    assert (caught.value.code, caught.value.field) == ("category_unknown", "categories")


def test_a_row_without_a_sector_is_filed_under_non_classe_unless_strict() -> None:
    assert clean(categories=None).categories == ("non-classe",)
    with pytest.raises(RowInvalid) as caught:
        clean(categories=None, strict=True)
    assert caught.value.code == "category_missing"


@pytest.mark.parametrize(("label", "slug"), [
    ("Insertion", "insertion-emploi"),
    ("Culture", "culture-education-populaire"),
    ("Médiation numérique", "mediation-numerique"),
    ("tiers-lieu", "environnement"),
    ("MÉDIATION-NUMÉRIQUE !", "mediation-numerique"),
    ("Habitat et", "habitat"),
    ("Coopératives d'activité", "cooperatives-activite"),
    ("Ressourcerie", "reemploi"),
    ("Work integration", "insertion-emploi"),
])
def test_network_labels_match_by_alias_start_or_words_in_order(label: str, slug: str) -> None:
    assert clean(categories=label).categories == (slug,)


@pytest.mark.parametrize("label", ["solidaire", "et", "Ma"])
def test_a_label_that_fits_several_sectors_or_is_too_short_is_unknown(label: str) -> None:
    assert clean(categories=label).categories == ("non-classe",)


def test_no_alias_names_two_sectors() -> None:
    owners: dict[str, set[str]] = {}
    for category in TAXONOMY.categories:
        for name in category.names():
            owners.setdefault(normalise_header(name), set()).add(category.slug)
    assert {name: slugs for name, slugs in owners.items() if len(slugs) > 1} == {}


def test_a_mapped_sector_and_the_default_sector_are_used() -> None:
    mapping = ColumnMapping(categories={"batiment": "industrie-artisanat"},
                            default_category="alimentation")
    matcher = CategoryMatcher(TAXONOMY, mapping)
    mapped = clean_row({"name": "A", "city": "Lyon", "categories": "Bâtiment"}, matcher,
                       file="f", line=2)
    default = clean_row({"name": "B", "city": "Lyon"}, matcher, file="f", line=3)
    assert (mapped.categories, default.categories) == (("industrie-artisanat",), ("alimentation",))


@pytest.mark.parametrize(("text", "family"), [
    ("Association loi 1901", LegalForm.ASSOCIATION),
    ("SCOP SA", LegalForm.COOPERATIVE),
    ("Société coopérative d'intérêt collectif (SCIC SAS)", LegalForm.COOPERATIVE),
    ("Mutuelle", LegalForm.MUTUELLE),
    ("Fonds de dotation", LegalForm.FONDATION),
    ("SAS agréée ESUS", LegalForm.ENTREPRISE_ESS),
    ("entreprise-ess", LegalForm.ENTREPRISE_ESS),
    ("Collectivité", None),
    ("SAS", None),
    ("SARL", None),
    ("Société anonyme", None),
])
def test_legal_forms_are_mapped_to_ess_families(text: str, family: LegalForm | None) -> None:
    assert legal_family(text) is family


def test_a_free_text_legal_form_is_kept_as_legal_status() -> None:
    row = clean(legal_form="SCOP SA")
    assert (row.values["legal_form"], row.values["legal_status"]) == (
        LegalForm.COOPERATIVE, "SCOP SA")


def test_values_longer_than_their_column_are_dropped_not_cut() -> None:
    assert dropped("description", description="L" * 5001) == (
        "description dropped, the structure is kept: description has 5001 characters, "
        "more than 5000")


def test_a_name_longer_than_its_column_rejects_the_row() -> None:
    assert rejection(name="N" * 301) == (
        "too_long", "name", "name has 301 characters, more than 300")


def test_a_four_digit_postcode_gets_its_leading_zero_back() -> None:
    assert clean(postcode="1000", city="Bourg-en-Bresse").values["postcode"] == "01000"


def test_record_fields_are_checked_and_normalised() -> None:
    row = clean(naf="8899b", categorie_juridique="9220", headcount_band="3",
                creation_date="04/03/2021", esus="oui", esus_date="2022-01-15",
                labels="ACI|Tiers-lieu", status="Fermé", status_date="2023-12-31")
    assert {name: row.values[name] for name in (
        "naf", "categorie_juridique", "headcount_band", "creation_date", "esus", "esus_date",
        "labels", "status", "status_date", "legal_form")} == {
        "naf": "88.99B", "categorie_juridique": "9220", "headcount_band": "03",
        "creation_date": date(2021, 3, 4), "esus": True, "esus_date": date(2022, 1, 15),
        "labels": "aci|tiers-lieu", "status": "closed", "status_date": date(2023, 12, 31),
        "legal_form": LegalForm.ASSOCIATION}
    assert row.warnings == []


def test_codes_outside_their_nomenclature_are_dropped_with_a_warning() -> None:
    row = clean(naf="99.99Z", categorie_juridique="3000", headcount_band="04")
    assert not {"naf", "categorie_juridique", "headcount_band"} & set(row.values)
    assert [code for code, _ in row.warnings] == ["field_dropped"] * 3


def test_a_plain_company_is_no_ess_family_unless_the_row_says_so() -> None:
    assert clean(legal_form="SAS").values["legal_form"] is None
    assert clean(categorie_juridique="5710").values["legal_form"] is None
    assert clean(categorie_juridique="5710", esus="oui").values["legal_form"] is (
        LegalForm.ENTREPRISE_ESS)
    assert clean(legal_form="SARL", labels="EI").values["legal_form"] is LegalForm.ENTREPRISE_ESS
    assert clean(categorie_juridique="5458").values["legal_form"] is LegalForm.COOPERATIVE


def test_the_display_street_is_composed_from_its_parts() -> None:
    row = clean(street_number="12", street_repetition="B", street_type="RUE",
                street_name="de la Paix", address_complement="Bâtiment A")
    assert row.values["street"] == "12 bis RUE de la Paix"
    assert clean(street="1 place X", street_name="Y").values["street"] == "1 place X"
