"""BanGeocoder against a real addok (addok-fr, addok-france, addok-csv) on loopback.

The index is tests/fixtures/addok/addresses.ndjson, so every expected label and
coordinate below comes from that file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from addok_service import FIXTURE_NDJSON

from geocode.ban import BanGeocoder, BanOptions
from geocode.base import (
    AddressQuery,
    GeocodeError,
    GeocodeResult,
    PlaceNotFound,
    Precision,
)
from geocode.reverse import default_reverse_index


@pytest.fixture
def ban(addok_url: str) -> Iterator[BanGeocoder]:
    with BanGeocoder(addok_url) as client:
        yield client


def summary(result: GeocodeResult) -> tuple[str, Precision, str | None, str | None, float, float]:
    return (
        result.label,
        result.precision,
        result.citycode,
        result.postcode,
        result.lat,
        result.lon,
    )


def outcome(answer: GeocodeResult | GeocodeError) -> str:
    if isinstance(answer, GeocodeResult):
        return f"{answer.label} [{answer.precision}]"
    return f"{type(answer).__name__}: {answer}"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            AddressQuery(street="3 rue Albert Marquet", postcode="75020", city="Paris"),
            (
                "3 Rue Albert Marquet 75020 Paris",
                Precision.HOUSENUMBER,
                "75120",
                "75020",
                48.85535,
                2.40745,
            ),
        ),
        (
            AddressQuery(street="10 bis rue Jangot", postcode="69007", city="Lyon"),
            (
                "10 bis Rue Jangot 69007 Lyon",
                Precision.HOUSENUMBER,
                "69387",
                "69007",
                45.75206,
                4.8431,
            ),
        ),
        (
            AddressQuery(street="2 cours Napoléon", postcode="20000", city="Ajaccio"),
            (
                "2 Cours Napoléon 20000 Ajaccio",
                Precision.HOUSENUMBER,
                "2A004",
                "20000",
                41.9208,
                8.7372,
            ),
        ),
        (
            AddressQuery(street="22 rue de Paris", postcode="97400", city="Saint-Denis"),
            (
                "22 Rue de Paris 97400 Saint-Denis",
                Precision.HOUSENUMBER,
                "97411",
                "97400",
                -20.88025,
                55.4485,
            ),
        ),
        (
            AddressQuery(street="1 place de Verdun", postcode="65000", city="Tarbes"),
            (
                "1 Place de Verdun 65000 Tarbes",
                Precision.HOUSENUMBER,
                "65440",
                "65000",
                43.23272,
                0.07406,
            ),
        ),
        (
            AddressQuery(street="3 rue Javelin Pagnon", postcode="42000", city="Saint-Etienne"),
            (
                "3 Rue Javelin Pagnon 42000 Saint-Étienne",
                Precision.HOUSENUMBER,
                "42218",
                "42000",
                45.44555,
                4.39895,
            ),
        ),
        (
            AddressQuery(street="rue de Paris", postcode="93100", city="Montreuil"),
            ("Rue de Paris 93100 Montreuil", Precision.STREET, "93048", "93100", 48.8543, 2.428),
        ),
        (
            AddressQuery(postcode="42000", city="Saint-Étienne"),
            ("Saint-Étienne", Precision.MUNICIPALITY, "42218", "42000", 45.4339, 4.3903),
        ),
    ],
    ids=[
        "coopaname",
        "framasoft-bis",
        "corsica",
        "reunion",
        "near-greenwich",
        "saint-etienne",
        "street",
        "municipality",
    ],
)
def test_search_returns_the_indexed_address(
    ban: BanGeocoder, query: AddressQuery, expected: tuple[object, ...]
) -> None:
    result = ban.geocode(query)
    assert summary(result) == expected
    assert result.source == "ban"
    assert 0.5 < result.score <= 1.0


def test_directory_address_with_number_range_lands_on_the_street(ban: BanGeocoder) -> None:
    result = ban.geocode(
        AddressQuery(street="3-7 rue Albert Marquet", postcode="75020", city="Paris")
    )
    assert (result.label, result.precision) == (
        "7 Rue Albert Marquet 75020 Paris",
        Precision.HOUSENUMBER,
    )


def test_citycode_filters_homonymous_streets(ban: BanGeocoder) -> None:
    result = ban.geocode(AddressQuery(street="100 rue de Paris", citycode="76351"))
    assert summary(result) == (
        "100 Rue de Paris 76600 Le Havre",
        Precision.HOUSENUMBER,
        "76351",
        "76600",
        49.4937,
        0.1074,
    )


def test_commune_code_of_paris_accepts_an_arrondissement_answer(ban: BanGeocoder) -> None:
    result = ban.geocode(AddressQuery(street="3 rue Albert Marquet", citycode="75056"))
    assert (result.label, result.citycode) == ("3 Rue Albert Marquet 75020 Paris", "75120")


def test_citycode_with_no_indexed_address_is_not_found(ban: BanGeocoder) -> None:
    with pytest.raises(PlaceNotFound, match="no match"):
        ban.geocode(AddressQuery(street="3 rue Albert Marquet", citycode="01053"))


def test_search_lists_homonymous_streets_across_france(ban: BanGeocoder) -> None:
    labels = [result.label for result in ban.search("rue de Paris", limit=3)]
    assert sorted(labels) == [
        "Rue de Paris 76600 Le Havre",
        "Rue de Paris 93100 Montreuil",
        "Rue de Paris 97400 Saint-Denis",
    ]


def test_search_type_filter_keeps_municipalities(ban: BanGeocoder) -> None:
    results = ban.search("Montreuil", type="municipality")
    assert [(r.label, r.precision, r.citycode) for r in results] == [
        ("Montreuil", Precision.MUNICIPALITY, "93048")
    ]


def test_search_postcode_filter(ban: BanGeocoder) -> None:
    results = ban.search("rue de Paris", postcode="97400")
    assert [r.label for r in results] == ["Rue de Paris 97400 Saint-Denis"]


def test_reverse_finds_the_nearest_housenumber(ban: BanGeocoder) -> None:
    result = ban.reverse(48.85536, 2.40746)
    assert summary(result) == (
        "3 Rue Albert Marquet 75020 Paris",
        Precision.HOUSENUMBER,
        "75120",
        "75020",
        48.85535,
        2.40745,
    )


def test_reverse_overseas(ban: BanGeocoder) -> None:
    result = ban.reverse(-20.8803, 55.4485)
    assert (result.label, result.citycode) == ("22 Rue de Paris 97400 Saint-Denis", "97411")


BATCH = [
    AddressQuery(street="3 rue Albert Marquet", postcode="75020", city="Paris"),
    AddressQuery(street="10 bis rue Jangot", postcode="69007", city="Lyon", citycode="69387"),
    AddressQuery(street="100 rue de Paris", city="Le Havre", citycode="76351"),
    AddressQuery(street="100 rue de Paris", postcode="93100", city="Montreuil", citycode="76351"),
    AddressQuery(street="3 rue Albert Marquet", citycode="75056"),
    AddressQuery(postcode="42000", city="Saint-Étienne"),
    AddressQuery(city="x"),
    AddressQuery(street="rue inconnue", postcode="01000", city="Bourg-en-Bresse"),
    AddressQuery(street="1 place de Verdun", postcode="65000", city="Tarbes"),
]


BATCH_OUTCOMES = [
    "3 Rue Albert Marquet 75020 Paris [housenumber]",
    "10 bis Rue Jangot 69007 Lyon [housenumber]",
    "100 Rue de Paris 76600 Le Havre [housenumber]",
    "PlaceNotFound: ban: best match '100 Rue de Paris 93100 Montreuil' is in commune 93048, "
    "not 76351",
    "3 Rue Albert Marquet 75020 Paris [housenumber]",
    "Saint-Étienne [municipality]",
    "PlaceNotFound: ban: query 'x' is too short to search",
    "PlaceNotFound: ban: no match above the service's minimum score",
    "1 Place de Verdun 65000 Tarbes [housenumber]",
]


def test_batch_csv_answers_every_row_in_order(ban: BanGeocoder) -> None:
    answers = ban.geocode_many(BATCH)
    assert [outcome(answer) for answer in answers] == BATCH_OUTCOMES


def test_batch_csv_in_small_chunks_keeps_rows_in_place(addok_url: str) -> None:
    with BanGeocoder(addok_url, BanOptions(batch_size=2)) as ban:
        answers = ban.geocode_many(BATCH)
    assert [outcome(answer) for answer in answers] == BATCH_OUTCOMES


def test_batch_csv_result_columns_are_mapped(ban: BanGeocoder) -> None:
    (answer,) = ban.geocode_many([BATCH[8]])
    assert isinstance(answer, GeocodeResult)
    assert summary(answer) == (
        "1 Place de Verdun 65000 Tarbes",
        Precision.HOUSENUMBER,
        "65440",
        "65000",
        43.23272,
        0.07406,
    )
    assert (answer.score, answer.source) == (0.96, "ban")


# --------------------------------------------------------------------------- addok-csv 1.1.0


def csv_upload(addok_url: str, form: dict[str, object]) -> httpx.Response:
    rows = "street,city,citycode\n100 rue de Paris,Le Havre,76351\n"
    files = {"data": ("rows.csv", rows.encode(), "text/csv")}
    return httpx.post(f"{addok_url}/search/csv", data=form, files=files, timeout=30)


def test_real_addok_csv_answers_500_to_a_filter_column(addok_url: str) -> None:
    """addok-csv 1.1.0 indexes its row dict with the list addok 1.3 gives for a filter."""
    filtered = csv_upload(addok_url, {"columns": ["street", "city"], "citycode": "citycode"})
    plain = csv_upload(addok_url, {"columns": ["street", "city"]})
    assert filtered.status_code == 500
    assert plain.status_code == 200
    assert "100 Rue de Paris 76600 Le Havre" in plain.text


def test_client_drops_csv_filters_after_the_500_and_checks_citycodes_itself(
    ban: BanGeocoder,
) -> None:
    assert ban.csv_filters_supported is None
    answers = ban.geocode_many(BATCH[2:4])
    assert ban.csv_filters_supported is False
    assert [outcome(answer) for answer in answers] == [
        "100 Rue de Paris 76600 Le Havre [housenumber]",
        "PlaceNotFound: ban: best match '100 Rue de Paris 93100 Montreuil' is in commune 93048, "
        "not 76351",
    ]


def test_every_fixture_point_lies_in_its_own_commune() -> None:
    """The NDJSON's coordinates agree with the shipped commune polygons."""
    reverse = default_reverse_index()
    misplaced = []
    for line in FIXTURE_NDJSON.read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        points = [doc, *doc.get("housenumbers", {}).values()]
        for point in points:
            location = reverse.locate(point["lat"], point["lon"])
            if location is None or location.citycode != doc["citycode"]:
                misplaced.append((doc["id"], point["lat"], point["lon"]))
    assert misplaced == []
