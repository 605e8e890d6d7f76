"""`ess-atlas geocode IN.csv -o OUT.csv`: through Typer's runner, offline and with the real addok.

Points come from the shipped gazetteer (commune centroids) and from
tests/fixtures/addok/addresses.ndjson (housenumbers).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from addok_fixtures import (
    AddokService,
    addok_requests,
)
from typer.testing import CliRunner, Result

from app.cli import cli

FIXTURES = Path(__file__).parent / "fixtures" / "geocode"
ADDRESSES = FIXTURES / "addresses.csv"
UNUSUAL_HEADERS = FIXTURES / "unusual_headers.tsv"
HEADER = (
    "nom;adresse;code postal;ville;latitude;longitude;geocode_label;geocode_score;"
    "geocode_precision;geocode_source;geocode_citycode;geocode_note"
)
NULLEPART = "Nulle part;;;Nullepart;;;;;;;;no match: no commune is named 'Nullepart'"
SAINT_DENIS = (
    "Homonyme;;;Saint-Denis;;;;;;;;\"ambiguous: 4 communes match the name 'Saint-Denis': "
    "Saint-Denis (11339), Saint-Denis (30247), Saint-Denis (93066), Saint-Denis (97411); "
    'give a postcode"'
)
OFFLINE_ROWS = [
    HEADER,
    "Coopaname;3 rue Albert Marquet;75020;Paris;48.86341;2.40109;"
    "Paris 20e Arrondissement (75020);1.0;municipality;gazetteer;75120;",
    "Les Écossolies;8 rue Saint-Domingue;44200;Nantes;47.23209;-1.54818;Nantes (44200);1.0;"
    "municipality;gazetteer;44109;",
    "Atelier fantôme;12 rue Qui N'Existe Pas;42000;Saint-Étienne;45.43025;4.37861;"
    "Saint-Étienne (42000);1.0;municipality;gazetteer;42218;",
    NULLEPART,
    SAINT_DENIS,
]


def run(tmp_path: Path, *args: str, geocoder_url: str | None = None) -> Result:
    env = {"ESS_GEOCODER_CACHE_PATH": str(tmp_path / "geocode-cache.sqlite3")}
    if geocoder_url is not None:
        env["ESS_GEOCODER_URL"] = geocoder_url
    return CliRunner().invoke(cli, ["geocode", *args], env=env)


def output_lines(path: Path, *, bom: bool = True) -> list[str]:
    """The written CSV's CRLF-ended lines, after checking its BOM (kept from the input's)."""
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") is bom
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[-1] == ""
    return lines[:-1]


def summary_rows(result: Result) -> list[str]:
    """The rows of the closing table, cells separated by one space."""
    rows = [line.strip("│ ").split("│") for line in result.stdout.splitlines()]
    return [" ".join(cell.strip() for cell in row) for row in rows if len(row) == 2]


def test_offline_every_row_is_placed_at_its_commune_or_explained(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"

    result = run(tmp_path, str(ADDRESSES), "-o", str(out))

    assert result.exit_code == 0, result.output
    assert output_lines(out) == OFFLINE_ROWS


def test_summary_counts_rows_per_precision_and_failures(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"

    result = run(tmp_path, str(ADDRESSES), "-o", str(out))

    assert summary_rows(result) == [
        "municipality 3",
        "failed: ambiguous 1",
        "failed: no match 1",
        "total 5",
    ]
    assert result.stdout.splitlines()[0].strip() == "Geocoding summary"
    assert result.stdout.splitlines()[-1] == f"written: {out}"


@pytest.mark.addok
def test_with_addok_street_addresses_get_their_housenumber(
    tmp_path: Path, addok_service: AddokService
) -> None:
    out = tmp_path / "out.csv"
    asked_before = len(addok_requests(addok_service))

    result = run(
        tmp_path, str(ADDRESSES), "--output", str(out), geocoder_url=addok_service.base_url
    )

    assert result.exit_code == 0, result.output
    assert output_lines(out) == [
        HEADER,
        "Coopaname;3 rue Albert Marquet;75020;Paris;48.85535;2.40745;"
        "3 Rue Albert Marquet 75020 Paris;0.96;housenumber;ban;75120;",
        "Les Écossolies;8 rue Saint-Domingue;44200;Nantes;47.20145;-1.56845;"
        "8 Rue Saint-Domingue 44200 Nantes;0.96;housenumber;ban;44109;",
        "Atelier fantôme;12 rue Qui N'Existe Pas;42000;Saint-Étienne;45.43025;4.37861;"
        'Saint-Étienne (42000);1.0;municipality;gazetteer;42218;"ban: no match (no match '
        "above the service's minimum score); fell back to gazetteer\"",
        NULLEPART,
        SAINT_DENIS,
    ]
    assert summary_rows(result) == [
        "housenumber 2",
        "municipality 1",
        "failed: ambiguous 1",
        "failed: no match 1",
        "total 5",
    ]
    assert addok_requests(addok_service)[asked_before:] == ["POST /search/csv"]


@pytest.mark.addok
def test_with_addok_named_columns_and_insee_codes_are_used(tmp_path: Path, addok_url: str) -> None:
    out = tmp_path / "out.tsv"

    result = run(
        tmp_path,
        str(UNUSUAL_HEADERS),
        "-o",
        str(out),
        "--address-cols",
        "Lieu,,Cité",
        "--citycode-col",
        "COG",
        geocoder_url=addok_url,
    )

    assert result.exit_code == 0, result.output
    assert output_lines(out, bom=False) == [
        "Structure\tLieu\tCOG\tCité\tlatitude\tlongitude\tgeocode_label\tgeocode_score\t"
        "geocode_precision\tgeocode_source\tgeocode_citycode\tgeocode_note",
        "Coopaname\t3 rue Albert Marquet\t75120\tParis\t48.85535\t2.40745\t"
        "3 Rue Albert Marquet 75020 Paris\t0.96\thousenumber\tban\t75120\t",
        "Coop du Cap Vert\t12 rue du Cap Vert\t21515\t\t47.3144\t5.1049\t"
        "12 Rue du Cap Vert 21800 Quetigny\t0.95\thousenumber\tban\t21515\t",
    ]


def test_named_columns_offline_use_the_insee_code(tmp_path: Path) -> None:
    out = tmp_path / "out.tsv"

    result = run(
        tmp_path,
        str(UNUSUAL_HEADERS),
        "-o",
        str(out),
        "--address-cols",
        "Lieu,,Cité",
        "--citycode-col",
        "COG",
    )

    assert result.exit_code == 0, result.output
    assert output_lines(out, bom=False)[1:] == [
        "Coopaname\t3 rue Albert Marquet\t75120\tParis\t48.86341\t2.40109\t"
        "Paris 20e Arrondissement (75020)\t1.0\tmunicipality\tgazetteer\t75120\t",
        "Coop du Cap Vert\t12 rue du Cap Vert\t21515\t\t47.31948\t5.1151\tQuetigny (21800)\t1.0\t"
        "municipality\tgazetteer\t21515\t",
    ]


def test_geocoding_its_own_output_again_gives_the_same_file(tmp_path: Path) -> None:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    run(tmp_path, str(ADDRESSES), "-o", str(first))

    result = run(tmp_path, str(first), "-o", str(second))

    assert result.exit_code == 0, result.output
    assert second.read_bytes() == first.read_bytes()


def test_a_malformed_row_is_kept_with_a_note(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text('nom,ville\nA,"Par"is\nB,Lyon\n', encoding="utf-8")

    result = run(tmp_path, str(source), "-o", str(out))

    assert result.exit_code == 0, result.output
    assert output_lines(out, bom=False) == [
        "nom,ville,latitude,longitude,geocode_label,geocode_score,geocode_precision,"
        "geocode_source,geocode_citycode,geocode_note",
        ",,,,,,,,,\"malformed row: malformed quoting on line 2: ',' expected after '\"\"' "
        '(a quote inside a quoted field must be doubled: """")"',
        "B,Lyon,45.7549,4.8364,Lyon,1.0,municipality,gazetteer,69123,",
    ]


# --------------------------------------------------------------------------- unusable input


def test_no_recognisable_address_column_is_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"

    result = run(tmp_path, str(UNUSUAL_HEADERS), "-o", str(out))

    assert (result.exit_code, result.stdout, not out.exists()) == (2, "", True)
    assert result.stderr == (
        "error: no address column found (street, postcode, city or INSEE code); name them "
        "with --address-cols street,postcode,city\n"
    )


def test_an_unknown_named_column_is_exit_2_listing_the_columns(tmp_path: Path) -> None:
    result = run(
        tmp_path, str(UNUSUAL_HEADERS), "-o", str(tmp_path / "out.csv"), "--address-cols", "Rue"
    )

    assert result.exit_code == 2
    assert result.stderr == (
        "error: --address-cols: no column named 'Rue'; the columns are: Structure, Lieu, COG, "
        "Cité\n"
    )


def test_too_many_named_columns_is_exit_2(tmp_path: Path) -> None:
    result = run(
        tmp_path, str(ADDRESSES), "-o", str(tmp_path / "o.csv"), "--address-cols", "a,b,c,d"
    )

    assert (result.exit_code, result.stderr) == (
        2,
        "error: --address-cols: give 1 to 3 column names, in the order street,postcode,city "
        "(leave one empty to skip it)\n",
    )


def test_a_binary_file_is_exit_2(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"nom,ville\x00\x01\n")

    result = run(tmp_path, str(source), "-o", str(tmp_path / "out.csv"))

    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {source}: undecodable bytes: the file contains NUL bytes (UTF-16 without a "
        "byte-order mark, or not a text file); save it as 'CSV UTF-8'\n",
    )


def test_a_missing_input_is_exit_2(tmp_path: Path) -> None:
    result = run(tmp_path, str(tmp_path / "absent.csv"), "-o", str(tmp_path / "out.csv"))

    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_an_output_in_a_missing_folder_is_exit_1_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "out.csv"

    result = run(tmp_path, str(ADDRESSES), "-o", str(out))

    assert result.exit_code == 1
    assert result.stderr.endswith(f"; {out} was not written\n")
    assert not out.parent.exists()


def test_a_metadata_geocoder_url_is_a_configuration_error_exit_78(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        str(ADDRESSES),
        "-o",
        str(tmp_path / "out.csv"),
        geocoder_url="http://169.254.169.254/",
    )

    assert (result.exit_code, result.stderr) == (
        78,
        "error: invalid settings: ESS_GEOCODER_URL: geocoder URL points at a link-local or "
        "metadata address: 'http://169.254.169.254/'\n",
    )


def test_formula_cells_are_neutralised_and_negative_longitudes_kept(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("nom,adresse,code postal,ville\n"
                      "=cmd|' /C calc'!A0,@SUM(1+1),44200,Nantes\n", encoding="utf-8")

    result = run(tmp_path, str(source), "-o", str(out))

    assert result.exit_code == 0, result.output
    assert output_lines(out, bom=False) == [
        "nom,adresse,code postal,ville,latitude,longitude,geocode_label,geocode_score,"
        "geocode_precision,geocode_source,geocode_citycode,geocode_note",
        "'=cmd|' /C calc'!A0,'@SUM(1+1),44200,Nantes,47.23209,-1.54818,Nantes (44200),1.0,"
        "municipality,gazetteer,44109,",
    ]
