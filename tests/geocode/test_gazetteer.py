from __future__ import annotations

import gzip
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from geocode.base import AddressQuery, AmbiguousPlace, GeocodeResult, PlaceNotFound, Precision
from geocode.gazetteer import CSV_COLUMNS, Commune, Gazetteer, default_gazetteer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return default_gazetteer()


def test_default_gazetteer_is_loaded_once() -> None:
    assert default_gazetteer() is default_gazetteer()


def test_gazetteer_holds_every_commune_and_the_45_arrondissements(gazetteer: Gazetteer) -> None:
    kinds = Counter(commune.kind for commune in gazetteer)
    assert kinds == {"COM": 34875, "ARM": 45}
    assert len(gazetteer) == 34920


def test_arrondissements_are_20_in_paris_9_in_lyon_16_in_marseille(gazetteer: Gazetteer) -> None:
    cities = Counter(c.departement for c in gazetteer if c.kind == "ARM")
    assert cities == {"75": 20, "69": 9, "13": 16}


def test_gazetteer_covers_101_departements_and_18_regions(gazetteer: Gazetteer) -> None:
    departements = {commune.departement for commune in gazetteer}
    assert len(departements) == 101
    assert {"2A", "2B", "971", "972", "973", "974", "976"} <= departements
    assert len({commune.region for commune in gazetteer}) == 18


def test_by_code_returns_the_full_record(gazetteer: Gazetteer) -> None:
    assert gazetteer.by_code("71076") == Commune(
        code="71076",
        name="Chalon-sur-Saône",
        kind="COM",
        postcodes=("71100",),
        lat=46.78987,
        lon=4.85242,
        departement="71",
        region="27",
        population=45096,
    )


def test_by_code_accepts_lowercase_corsican_codes(gazetteer: Gazetteer) -> None:
    commune = gazetteer.by_code("2a004")
    assert commune is not None
    assert commune.name == "Ajaccio"


def test_by_code_of_an_unknown_code_is_none(gazetteer: Gazetteer) -> None:
    assert gazetteer.by_code("99999") is None


def test_paris_lists_the_postcodes_of_its_arrondissements(gazetteer: Gazetteer) -> None:
    paris = gazetteer.by_code("75056")
    assert paris is not None
    assert len(paris.postcodes) == 21
    assert {"75001", "75016", "75116", "75020"} <= set(paris.postcodes)


@pytest.mark.parametrize(
    ("postcode", "city", "code"),
    [
        (None, "Paris 19e", "75119"),
        (None, "Paris 19", "75119"),
        (None, "Paris XIXe", "75119"),
        (None, "paris 19ème arrondissement", "75119"),
        ("75019", "Paris 19e", "75119"),
        (None, "Lyon 8e", "69388"),
        ("69008", "Lyon 8e", "69388"),
        (None, "Marseille 1er", "13201"),
        ("13001", "Marseille 1er", "13201"),
        ("75019", "Paris", "75119"),
        ("75116", "PARIS", "75116"),
        ("13001", "Marseille", "13201"),
        ("69003", "Lyon", "69383"),
        (None, "Paris", "75056"),
        ("93200", "Saint-Denis", "93066"),
        ("93200", "St Denis", "93066"),
        ("97400", "Saint-Denis", "97411"),
        ("20000", "Ajaccio", "2A004"),
        ("20200", "Bastia", "2B033"),
        ("71100", "Chalon sur Saone", "71076"),
        ("71100", "CHALON-SUR-SAÔNE", "71076"),
        ("71100", "Chalon s/ Saône", "71076"),
        (None, "Saint-Étienne", "42218"),
        (None, "ST ETIENNE", "42218"),
        ("1000", "Bourg-en-Bresse", "01053"),
        ("93100", None, "93048"),
        ("75019", None, "75119"),
        ("75016", None, "75116"),
        ("75700", "Paris Cedex 07", "75056"),
        ("69431", "LYON CEDEX 03", "69123"),
        ("13100", "Marseille", "13055"),
        ("14310", "Anctoville", "14581"),
    ],
)
def test_find_resolves(
    gazetteer: Gazetteer, postcode: str | None, city: str | None, code: str
) -> None:
    assert gazetteer.find(postcode, city).code == code


@pytest.mark.parametrize(
    ("postcode", "city", "message"),
    [
        (
            None,
            "Saint-Denis",
            "4 communes match the name 'Saint-Denis': Saint-Denis (11339), "
            "Saint-Denis (30247), Saint-Denis (93066), Saint-Denis (97411); give a postcode",
        ),
        (
            "01000",
            None,
            "2 communes match postcode 01000: Bourg-en-Bresse (01053), "
            "Saint-Denis-lès-Bourg (01344)",
        ),
        (
            None,
            "Montreuil",
            "3 communes match the name 'Montreuil': Montreuil (28267), "
            "Montreuil (85148), Montreuil (93048); give a postcode",
        ),
    ],
)
def test_find_refuses_to_guess_between_several_communes(
    gazetteer: Gazetteer, postcode: str | None, city: str | None, message: str
) -> None:
    with pytest.raises(AmbiguousPlace) as raised:
        gazetteer.find(postcode, city)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("postcode", "city", "message"),
    [
        (None, "Atlantis", "no commune is named 'Atlantis'"),
        ("62170", "Montreuil", "no commune named 'Montreuil' near postcode 62170"),
        ("75700", None, "postcode 75700 serves no known commune (CEDEX codes need the city name)"),
        ("ABCDE", None, "no city name and no valid postcode (got 'ABCDE')"),
        (None, None, "no city name and no valid postcode (got None)"),
        (None, "Paris 21e", "no commune is named 'Paris 21e'"),
    ],
)
def test_find_of_an_unknown_place_is_not_found(
    gazetteer: Gazetteer, postcode: str | None, city: str | None, message: str
) -> None:
    with pytest.raises(PlaceNotFound) as raised:
        gazetteer.find(postcode, city)
    assert str(raised.value) == message


def test_geocode_an_exact_match_gives_the_commune_point_with_score_1(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode(AddressQuery(postcode="71100", city="Chalon sur Saone"))
    assert result == GeocodeResult(
        lat=46.78987,
        lon=4.85242,
        label="Chalon-sur-Saône (71100)",
        score=1.0,
        precision=Precision.MUNICIPALITY,
        source="gazetteer",
        citycode="71076",
        postcode="71100",
    )


def test_geocode_by_citycode_needs_no_name(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode(AddressQuery(citycode="75119"))
    assert (result.label, result.citycode, result.postcode) == (
        "Paris 19e Arrondissement (75019)",
        "75119",
        "75019",
    )


def test_geocode_of_a_commune_with_several_postcodes_keeps_the_asked_one(
    gazetteer: Gazetteer,
) -> None:
    result = gazetteer.geocode(AddressQuery(postcode="93380", city="Saint-Denis"))
    assert (result.label, result.citycode, result.postcode) == (
        "Saint-Denis (93380)",
        "93066",
        "93380",
    )


def test_geocode_a_cedex_address_matches_by_name_with_a_note(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode(
        AddressQuery(street="1 rue X", postcode="75700", city="Paris Cedex 07")
    )
    assert (result.label, result.citycode, result.postcode, result.score, result.notes) == (
        "Paris",
        "75056",
        None,
        0.8,
        ("postcode 75700 is not Paris's; matched by name in its département",),
    )


def test_geocode_by_a_former_commune_name_says_so(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode(AddressQuery(postcode="14310", city="Anctoville"))
    assert (result.label, result.score, result.notes) == (
        "Aurseulles",
        0.8,
        ("'Anctoville' is a former commune name",),
    )


def test_geocode_outside_france_is_not_found(gazetteer: Gazetteer) -> None:
    with pytest.raises(PlaceNotFound) as raised:
        gazetteer.geocode(AddressQuery(postcode="1000", city="Bruxelles", country="BE"))
    assert str(raised.value) == "the gazetteer only knows France, not 'BE'"


def test_geocode_an_unknown_citycode_alone_is_not_found(gazetteer: Gazetteer) -> None:
    with pytest.raises(PlaceNotFound) as raised:
        gazetteer.geocode(AddressQuery(citycode="00000"))
    assert str(raised.value) == "no commune has the INSEE code '00000'"


def _codes(communes: list[Commune]) -> list[str]:
    return [commune.code for commune in communes]


@pytest.mark.parametrize(
    ("text", "first_codes"),
    [
        ("Montreuil", ["93048", "85148", "28267"]),
        ("93100", ["93048"]),
        ("Saint-Étienne", ["42218", "76575"]),
        ("saint etienne", ["42218", "76575"]),
        ("ST-ETIENNE", ["42218", "76575"]),
        ("Paris", ["75056", "75115"]),
        ("Paris 19", ["75119"]),
        ("Paris XIX", ["75119"]),
        (
            "7501",
            [
                "75115",
                "75118",
                "75119",
                "75113",
                "75117",
                "75116",
                "75111",
                "75112",
                "75114",
                "75110",
            ],
        ),
    ],
)
def test_search_ranks_exact_matches_then_population(
    gazetteer: Gazetteer, text: str, first_codes: list[str]
) -> None:
    assert _codes(gazetteer.search(text))[: len(first_codes)] == first_codes


def test_search_returns_at_most_limit_results(gazetteer: Gazetteer) -> None:
    assert len(gazetteer.search("saint", limit=3)) == 3


@pytest.mark.parametrize("text", ["", "   ", "-", "zzzzzz", "00"])
def test_search_without_match_is_empty(gazetteer: Gazetteer, text: str) -> None:
    assert gazetteer.search(text) == []


def _write_communes(path: Path, rows: list[str]) -> None:
    with gzip.open(path, "wt", encoding="utf-8", newline="") as out:
        out.write(",".join(CSV_COLUMNS) + "\n" + "".join(row + "\n" for row in rows))


def test_load_reads_a_given_directory(tmp_path: Path) -> None:
    _write_communes(
        tmp_path / "communes.csv.gz",
        [
            "01001,Abergement-Clémenciat,COM,01400,46.15,4.92,01,84,776,",
            "01002,Abergement-de-Varey,COM,01640,46.0,5.42,01,84,248,Ancien Nom|Autre Nom",
        ],
    )
    loaded = Gazetteer.load(tmp_path)
    assert (len(loaded), loaded.find(None, "Autre Nom").code) == (2, "01002")


def test_load_rejects_a_file_with_other_columns(tmp_path: Path) -> None:
    path = tmp_path / "communes.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("code,name\n01001,Abergement-Clémenciat\n")
    with pytest.raises(ValueError, match="does not have the columns"):
        Gazetteer.load(path)


def test_geocode_package_imports_neither_app_nor_pandas() -> None:
    script = (
        "import sys, geocode.gazetteer, geocode.reverse, geocode.normalize; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'app', 'pandas', 'geopandas', 'fastapi'}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert completed.stdout == "[]\n"


@pytest.mark.parametrize(
    ("postcode", "city", "code"),
    [
        ("76600", "Le Havre", "76351"),
        ("76600", "Havre", "76351"),
        ("42150", "La Ricamarie", "42183"),
        (None, "Les Lilas", "93045"),
        ("01400", "Abergement-Clémenciat", "01001"),
    ],
)
def test_names_carry_their_article_and_match_without_it(
    gazetteer: Gazetteer, postcode: str | None, city: str, code: str
) -> None:
    assert gazetteer.find(postcode, city).code == code


def test_the_article_is_part_of_the_name(gazetteer: Gazetteer) -> None:
    commune = gazetteer.by_code("76351")
    assert commune is not None
    assert commune.name == "Le Havre"
