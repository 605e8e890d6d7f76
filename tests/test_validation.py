"""Field checks shared by the API models and the importer."""

from __future__ import annotations

import pytest

from app import validation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("732829320", "732829320"),
        ("732 829 320", "732829320"),
        ("732\u00a0829\u00a0320", "732829320"),
        ("356000000", "356000000"),
    ],
)
def test_valid_sirens_are_normalised(raw: str, expected: str) -> None:
    assert validation.clean_siren(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("732829321", "SIREN 732829321 fails its checksum (Luhn)"),
        ("73282932", "SIREN must have 9 digits, got 8 in '73282932'"),
        ("７３２８２９３２０", "SIREN must contain ASCII digits only, got '７３２８２９３２０'"),
        (
            "7,32829E+8",
            "SIREN '7,32829E+8' was turned into a number in scientific notation by a "
            "spreadsheet; format the column as text and export again",
        ),
    ],
)
def test_bad_sirens_say_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        validation.clean_siren(raw)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("732 829 320 00074", "73282932000074"),
        ("35600000000048", "35600000000048"),
        ("35600000049837", "35600000049837"),
        ("356-000-000-12341", "35600000012341"),
    ],
)
def test_valid_sirets_including_la_poste(raw: str, expected: str) -> None:
    assert validation.clean_siret(raw) == expected


@pytest.mark.parametrize("raw", ["73282932000075", "35600000049838", "7,32829E+13"])
def test_bad_sirets_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        validation.clean_siret(raw)


def test_a_siret_whose_siren_fails_its_checksum_is_refused() -> None:
    with pytest.raises(ValueError) as error:
        validation.clean_siret("945 807 302 15736")
    assert str(error.value) == ("SIRET 94580730215736 starts with SIREN 945807302, which fails "
                                "its checksum (Luhn)")


def test_a_siret_failing_its_own_checksum_says_so() -> None:
    with pytest.raises(ValueError) as error:
        validation.clean_siret("73282932000075")
    assert str(error.value) == "SIRET 73282932000075 fails its checksum"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("framasoft.org", "https://framasoft.org"), ("http://a.fr/x", "http://a.fr/x")],
)
def test_urls(raw: str, expected: str) -> None:
    assert validation.clean_url(raw) == expected


@pytest.mark.parametrize("raw", ["javascript:alert(1)", "ftp://a.fr", "http://localhost", "a b.fr"])
def test_bad_urls(raw: str) -> None:
    with pytest.raises(ValueError):
        validation.clean_url(raw)


@pytest.mark.parametrize("raw", ["contact@framasoft.org", "a.b+c@sub.example.fr"])
def test_emails(raw: str) -> None:
    assert validation.clean_email(raw) == raw


@pytest.mark.parametrize("raw", ["contact@", "@a.fr", "a@b", "a b@c.fr", "a@b..fr"])
def test_bad_emails(raw: str) -> None:
    with pytest.raises(ValueError):
        validation.clean_email(raw)


def test_phones_and_postcodes() -> None:
    assert validation.clean_phone("+33 1 23 45 67 89") == "+33 1 23 45 67 89"
    assert validation.clean_postcode("1000") == "01000"
    assert validation.clean_country("fr") == "FR"
    with pytest.raises(ValueError):
        validation.clean_phone("call me")
    with pytest.raises(ValueError):
        validation.clean_postcode("750011")
    with pytest.raises(ValueError):
        validation.clean_country("FRA")
