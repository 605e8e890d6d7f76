"""Probable duplicates: queued by rule, never merged automatically, merged or dismissed."""

from __future__ import annotations

import re

import pytest
from alembic import command
from import_helpers import CsvWriter, Importer, stored_names
from postgres_cluster import BOTH_BACKENDS
from sqlalchemy import Engine, event, text

from app import duplicates
from app.db import session_scope
from app.duplicates import (
    dismiss_candidate,
    lat_band,
    list_candidates,
    make_entry,
    merge_candidate,
    name_skeleton,
    near_identical,
    stored_candidates,
    within_one_edit,
)
from app.errors import Conflict, InvalidParameter, NotFound
from app.importer.pipeline import ImportMode
from app.importer.report import ImportReport
from app.schema import run_alembic
from app.storage import normalise_name

BACKENDS = BOTH_BACKENDS

HEADER = "id;source;nom;cp;commune;latitude;longitude;secteur;siret\n"
FABRIQUE = "1;tl;La Fabrique;44000;Nantes;47.2110;-1.5640;reemploi;\n"


# With slices of two rows, communes are checked in code order (Nantes 44109, Rezé 44143,
# Le Pin 79210) and this batch is checked as [1, 7], [6], [2, 3], [4, 5]: each pair (1-6
# across two communes, 2-5 within one) has its two rows in two slices.
ACROSS_SLICES = HEADER + (
    "1;tl;La Fabrique;44000;Nantes;47.1985;-1.5640;reemploi;\n"
    "2;tl;Ressourcerie du Bocage;79140;Le Pin;;;reemploi;\n"
    "3;tl;Jardin des Plantes;79140;Le Pin;;;environnement;\n"
    "4;tl;Cantine Solidaire;79140;Le Pin;;;alimentation;\n"
    "5;tl;Ressourcerie du Bocagge;79140;Le Pin;;;reemploi;\n"
    "6;tl;LA FABRIQUE;44400;Rezé;47.1975;-1.5640;reemploi;\n"
    "7;tl;Atelier Vélo;44000;Nantes;47.2100;-1.5500;mobilite;\n")
PAIRS_ACROSS_SLICES = [
    ("source:tl:1", "source:tl:6", "same_name_nearby", 111.2),
    ("source:tl:2", "source:tl:5", "similar_name_same_commune", 0.0)]


@pytest.fixture
def two_row_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """The duplicate check takes two rows at a time, so a small batch spans several slices."""
    monkeypatch.setattr(duplicates, "SLICE_ROWS", 2)


def reported(report: ImportReport) -> list[tuple[str, str, str, float | None]]:
    """(first key, second key, rule, distance) of every pair a report lists."""
    return [(d["first"], d["second"], d["rule"], d["distance_m"]) for d in report.duplicates]


def filed_per_structure(engine: Engine) -> tuple[int, set[int]]:
    """How many structures are stored, and how many duplicate_name rows each has."""
    query = text("SELECT count(d.organisation_id) FROM organisation o "
                 "LEFT JOIN duplicate_name d ON d.organisation_id = o.id GROUP BY o.id")
    with engine.connect() as connection:
        counts = connection.execute(query).scalars().all()
    return len(counts), set(counts)


def queued(engine: Engine) -> list[tuple[str, str, str, str]]:
    """(first name, second name, rule, status) of every queued pair."""
    query = text("SELECT a.name, b.name, d.rule, d.status FROM duplicate_candidate d "
                 "JOIN organisation a ON a.id = d.first_id "
                 "JOIN organisation b ON b.id = d.second_id ORDER BY d.id")
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("ateliersdubocage", "ateliersdubocage", True),
    ("jardinpartage", "jardinpartagé", True),
    ("jardinpartage", "jardinpartgae", True),
    ("jardinpartage", "jardinpartag", True),
    ("jardinpartage", "jardinpatrage", True),  # two neighbours swapped
    ("jardinpartage", "jardinportagx", False),
    ("jardin", "verger", False),
])
def test_within_one_edit(first: str, second: str, expected: bool) -> None:
    assert within_one_edit(first, second) is expected


def test_near_identical_names_ignore_articles_and_legal_words_but_not_numbers() -> None:
    skeleton = name_skeleton
    assert near_identical(skeleton(normalise_name("Association Les Ateliers du Bocage")),
                          skeleton(normalise_name("Ateliers du Bocage")))
    assert not near_identical(skeleton(normalise_name("Restos du Coeur 12")),
                              skeleton(normalise_name("Restos du Coeur 13")))
    assert not near_identical(skeleton(normalise_name("Amis du Jardin")),
                              skeleton(normalise_name("Amis du Jardin de Lyon")))


def test_the_same_name_within_200_m_is_queued(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    report = run_import(write_csv("a.csv", HEADER +
        "1;tl;La Fabrique;44000;Nantes;47.2110;-1.5640;reemploi;\n"
        "2;tl;LA FABRIQUE;44000;Nantes;47.2120;-1.5640;reemploi;\n"
        "3;tl;La Fabrique;44400;Rezé;47.1850;-1.5500;reemploi;\n"))
    assert [(d["first"], d["second"], d["rule"], d["distance_m"]) for d in report.duplicates] == [
        ("source:tl:1", "source:tl:2", "same_name_nearby", 111.2)]
    assert queued(engine) == [("La Fabrique", "LA FABRIQUE", "same_name_nearby", "pending")]


Place = tuple[str, str, float, float]  # postcode, commune, latitude, longitude
NANTES: Place = ("44000", "Nantes", 47.2110, -1.5640)


def import_comites(run_import: Importer, write_csv: CsvWriter, *places: Place) -> None:
    """Import one "Comité des fêtes" at each place (ids 1, 2, …: keys source:cf:N)."""
    run_import(write_csv("a.csv", HEADER + "".join(
        f"{number};cf;Comité des fêtes;{postcode};{city};{lat};{lon};reemploi;\n"
        for number, (postcode, city, lat, lon) in enumerate(places, start=1))))


def test_the_same_name_is_looked_up_around_a_structure_not_across_france(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    import_comites(run_import, write_csv, NANTES, ("44400", "Rezé", 47.1850, -1.5500),
                   ("69001", "Lyon", 45.7670, 4.8340))
    with session_scope(engine) as session:
        # 55 m from the first, in Nantes; the second is 3 km away, the third in Lyon.
        found = stored_candidates(session, [make_entry("new", "Comite des fetes", "44109",
                                                       47.2115, -1.5640)])
    assert [entry.key for entry in found.values()] == ["source:cf:1"]


def test_an_upgrade_files_each_checked_name_in_its_latitude_band(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    import_comites(run_import, write_csv, NANTES, ("97400", "Saint-Denis", -20.8823, 55.4504),
                   ("97300", "Cayenne", 4.9372, -52.3260))
    with engine.begin() as connection:
        expected = {row_id: lat_band(lat) for row_id, lat in connection.execute(text(
            "SELECT o.id, o.lat FROM organisation AS o "
            "JOIN duplicate_name AS d ON d.organisation_id = o.id"))}
        run_alembic(connection, command.downgrade, "0007_postgis_bigint")
        run_alembic(connection, command.upgrade, "head")
        bands = {row_id: band for row_id, band in connection.execute(text(
            "SELECT organisation_id, band FROM duplicate_name"))}
    # floor, not truncation, south of the equator: -20.8823 is in band -10442.
    assert bands == expected and sorted(bands.values())[0] == -10442


def test_near_identical_names_in_the_same_commune_are_queued(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    run_import(write_csv("a.csv", HEADER +
        "1;tl;Les Ateliers du Bocage;79140;Le Pin;;;reemploi;\n"
        "2;tl;Association Ateliers du Bocage;79140;Le Pin;;;reemploi;\n"
        "3;tl;Ressourcerie du Bocage;79140;Le Pin;;;reemploi;\n"
        "4;tl;Ressourcerie du Bocagge;79140;Le Pin;;;reemploi;\n"
        "5;tl;Resto du Bocage 12;79140;Le Pin;;;alimentation;\n"
        "6;tl;Resto du Bocage 13;79140;Le Pin;;;alimentation;\n"))
    assert queued(engine) == [
        ("Les Ateliers du Bocage", "Association Ateliers du Bocage", "similar_name_same_commune",
         "pending"),
        ("Ressourcerie du Bocage", "Ressourcerie du Bocagge", "similar_name_same_commune",
         "pending")]


def test_a_name_that_only_contains_the_other_is_never_merged(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    report = run_import(write_csv("a.csv", HEADER +
        ";;Amis du Jardin;69003;Lyon;;;environnement;\n"
        ";;Amis du Jardin de Lyon;69003;Lyon;;;environnement;\n"))
    assert (report.count("inserted"), report.duplicates, queued(engine)) == (2, [], [])
    assert stored_names(engine) == ["Amis du Jardin", "Amis du Jardin de Lyon"]


def test_a_pair_is_queued_against_structures_stored_before(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    run_import(write_csv("a.csv", HEADER + FABRIQUE))
    report = run_import(write_csv("b.csv", HEADER +
                                  "9;autre;La Fabrique;44000;Nantes;47.2111;-1.5641;reemploi;\n"))
    assert [(d["first_name"], d["second_name"]) for d in report.duplicates] == [
        ("La Fabrique", "La Fabrique")]
    assert len(queued(engine)) == 1


def test_merging_keeps_one_and_a_reimport_does_not_bring_the_other_back(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    path = write_csv("a.csv", HEADER +
        "1;tl;La Fabrique;44000;Nantes;47.2110;-1.5640;reemploi;\n"
        "2;tl;La Fabrique;44000;Nantes;47.2111;-1.5640;reemploi;73282932000074\n")
    run_import(path)
    with session_scope(engine) as session:
        candidate = list_candidates(session=session)[0]
        dropped = merge_candidate(session=session, candidate_id=candidate.id)
    assert dropped == candidate.first.id
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT key FROM organisation")).scalars().all()
    assert kept == ["siret:73282932000074"]
    report = run_import(path)
    assert (report.count("suppressed"), report.count("unchanged"), queued(engine)) == (1, 1, [])


def test_a_dismissed_pair_stays_dismissed_after_a_reimport_that_changes_it(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    rows = ("1;tl;La Fabrique;44000;Nantes;47.2110;-1.5640;{};\n"
            "2;tl;La Fabrique;44000;Nantes;47.2111;-1.5640;reemploi;\n")
    run_import(write_csv("a.csv", HEADER + rows.format("reemploi")))
    with session_scope(engine) as session:
        dismiss_candidate(session=session, candidate_id=list_candidates(session=session)[0].id)
    report = run_import(write_csv("a.csv", HEADER + rows.format("environnement")))
    assert report.count("updated") == 1
    assert queued(engine) == [("La Fabrique", "La Fabrique", "same_name_nearby", "dismissed")]


def test_decisions_name_what_is_wrong(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    run_import(write_csv("a.csv", HEADER +
        "1;tl;La Fabrique;44000;Nantes;47.2110;-1.5640;reemploi;\n"
        "2;tl;La Fabrique;44000;Nantes;47.2111;-1.5640;reemploi;\n"))
    with session_scope(engine) as session:
        with pytest.raises(NotFound, match="no duplicate candidate 99"):
            merge_candidate(session=session, candidate_id=99)
        with pytest.raises(InvalidParameter, match="keep must be 1 or 2, got 7"):
            merge_candidate(session=session, candidate_id=1, keep_id=7)
        dismiss_candidate(session=session, candidate_id=1)
        with pytest.raises(Conflict, match="duplicate candidate 1 is already dismissed"):
            dismiss_candidate(session=session, candidate_id=1)


def test_a_large_commune_still_finds_one_letter_typos(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    words = ["Atelier", "Jardin", "Cantine", "Verger", "Fabrique", "Ressourcerie", "Épicerie",
             "Maison", "Rucher", "Café"]
    rows = [f"{i};tl;{words[i % 10]} solidaire {i};69001;Lyon;;;habitat;\n" for i in range(80)]
    rows.append("99;tl;Ressourcerie solidare 75;69001;Lyon;;;habitat;\n")
    run_import(write_csv("a.csv", HEADER + "".join(rows)))
    assert queued(engine) == [("Ressourcerie solidaire 75", "Ressourcerie solidare 75",
                               "similar_name_same_commune", "pending")]


def test_a_large_commune_finds_a_swap_in_the_middle_of_a_short_name(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    # "verdure" / "verudre": neither the first nor the last four letters are the same.
    rows = [f"{i};tl;Atelier solidaire {i};69001;Lyon;;;habitat;\n" for i in range(80)]
    rows += ["98;tl;Verdure;69001;Lyon;;;habitat;\n", "99;tl;Verudre;69001;Lyon;;;habitat;\n"]
    run_import(write_csv("a.csv", HEADER + "".join(rows)))
    assert queued(engine) == [("Verdure", "Verudre", "similar_name_same_commune", "pending")]


def test_structures_checked_before_the_name_index_existed_are_still_compared(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    run_import(write_csv("a.csv", HEADER + FABRIQUE))
    with engine.begin() as connection:  # a database from before duplicate_name
        connection.execute(text("DELETE FROM duplicate_name"))
    report = run_import(write_csv("b.csv", HEADER +
                                  "9;autre;La Fabrique;44000;Nantes;47.2111;-1.5641;reemploi;\n"))
    assert [(d["first"], d["second"]) for d in report.duplicates] == [
        ("source:autre:9", "source:tl:1")]
    with engine.connect() as connection:
        filed = connection.execute(text("SELECT count(*) FROM duplicate_name")).scalar_one()
    assert (len(queued(engine)), filed) == (1, 2)


def test_a_structure_written_outside_an_import_is_checked_by_the_next_import(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    run_import(write_csv("a.csv", HEADER + FABRIQUE))
    with engine.begin() as connection:  # as the API writes: no duplicate check
        connection.execute(text(
            "INSERT INTO organisation (key, name, citycode, lat, lon, country, categories, "
            "search_text, content_hash, created_at, updated_at) VALUES ('api:1', 'La Fabrique', "
            "'44109', 47.2112, -1.5641, 'FR', 'reemploi', '', '', '2026-01-01', '2026-01-01')"))
    run_import(write_csv("b.csv", HEADER + "5;tl;Jardin;44000;Nantes;47.3;-1.5;reemploi;\n"))
    assert queued(engine) == [("La Fabrique", "La Fabrique", "same_name_nearby", "pending")]


@pytest.mark.usefixtures("two_row_slices")
def test_a_pair_whose_rows_are_in_two_slices_of_a_batch_is_found(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    report = run_import(write_csv("a.csv", ACROSS_SLICES))
    assert (report.batches_committed, reported(report)) == (1, PAIRS_ACROSS_SLICES)
    assert queued(engine) == [  # in the order of their later row, as checked unsliced
        ("Ressourcerie du Bocage", "Ressourcerie du Bocagge", "similar_name_same_commune",
         "pending"),
        ("La Fabrique", "LA FABRIQUE", "same_name_nearby", "pending")]
    assert filed_per_structure(engine) == (7, {1})


@pytest.mark.usefixtures("two_row_slices")
def test_a_reimport_checked_in_slices_files_each_structure_once_and_queues_nothing_twice(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    run_import(write_csv("a.csv", ACROSS_SLICES))
    every_sector_changed = re.sub(r";[a-z]+;\n", ";habitat;\n", ACROSS_SLICES)
    report = run_import(write_csv("a.csv", every_sector_changed))
    assert (report.count("updated"), reported(report)) == (7, PAIRS_ACROSS_SLICES)
    assert [status for *_, status in queued(engine)] == ["pending", "pending"]
    assert filed_per_structure(engine) == (7, {1})


@pytest.mark.usefixtures("two_row_slices")
def test_a_structure_renamed_in_a_later_slice_does_not_pair_under_its_old_name(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    run_import(write_csv("a.csv", HEADER +
                         "6;tl;La Fabrique;44400;Rezé;47.1975;-1.5640;reemploi;\n"))
    report = run_import(write_csv("b.csv", HEADER +
        "1;tl;La Fabrique;44000;Nantes;47.1985;-1.5640;reemploi;\n"
        "7;tl;Atelier Vélo;44000;Nantes;47.2100;-1.5500;mobilite;\n"
        "6;tl;Jardin du Bourg;44400;Rezé;47.1975;-1.5640;reemploi;\n"))
    assert (report.count("inserted"), report.count("updated")) == (2, 1)
    assert (report.duplicates, queued(engine)) == ([], [])


@pytest.mark.usefixtures("two_row_slices")
def test_pairs_sharing_a_siren_across_slices_are_queued_once_by_their_siren(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    report = run_import(write_csv("a.csv", "id;source;nom;cp;commune;latitude;longitude;"
        "secteur;siret;siren\n"
        "1;tl;La Fabrique;44000;Nantes;47.1985;-1.5640;reemploi;73282932000074;\n"
        "7;tl;Atelier Vélo;44000;Nantes;47.2100;-1.5500;mobilite;;\n"
        "6;tl;LA FABRIQUE;44400;Rezé;47.1975;-1.5640;reemploi;;732829320\n"
        "8;tl;Cantine du Port;44000;Nantes;47.2200;-1.5500;alimentation;;732829320\n"))
    assert sorted(reported(report)) == [
        ("siret:73282932000074", "source:tl:6", "same_name_nearby", 111.2),
        ("siret:73282932000074", "source:tl:6", "same_siren", None),
        ("siret:73282932000074", "source:tl:8", "same_siren", None),
        ("source:tl:6", "siret:73282932000074", "same_siren", None)]
    assert queued(engine) == [("La Fabrique", "LA FABRIQUE", "same_siren", "pending"),
                              ("La Fabrique", "Cantine du Port", "same_siren", "pending")]


@pytest.mark.usefixtures("two_row_slices")
def test_a_dry_run_checked_in_slices_finds_the_pairs_the_import_then_finds(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    first, second = ACROSS_SLICES.splitlines(keepends=True)[1:3]
    run_import(write_csv("stored.csv", HEADER + first + second))
    path = write_csv("a.csv", ACROSS_SLICES)
    dry = run_import(path, mode=ImportMode.DRY_RUN)
    assert (dry.written, sorted(reported(dry))) == (False, PAIRS_ACROSS_SLICES)
    assert sorted(reported(run_import(path))) == PAIRS_ACROSS_SLICES


def test_the_lookups_of_any_number_of_rows_are_a_few_statements(engine: Engine) -> None:
    statements: set[str] = set()

    def seen(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        if "duplicate_name" in statement:
            statements.add(statement)

    event.listen(engine, "before_cursor_execute", seen)
    with session_scope(engine) as session:
        for count in range(1, 41):
            stored_candidates(session, [make_entry(f"k{i}", f"Jardin {i}", "69001", 45.76, 4.83)
                                        for i in range(count)])
    # By name, head, tail and length (every name here is short): 1, 2, 4 ... 64 values.
    assert len(statements) == 4 * 7
