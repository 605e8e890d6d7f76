"""Probable duplicates: queued by rule, never merged automatically, merged or dismissed."""

from __future__ import annotations

import pytest
from import_helpers import CsvWriter, Importer, stored_names
from postgres_cluster import BOTH_BACKENDS
from sqlalchemy import Engine, text

from app.db import session_scope
from app.duplicates import (
    dismiss_candidate,
    list_candidates,
    merge_candidate,
    name_skeleton,
    near_identical,
    within_one_edit,
)
from app.errors import Conflict, InvalidParameter, NotFound
from app.storage import normalise_name

BACKENDS = BOTH_BACKENDS

HEADER = "id;source;nom;cp;commune;latitude;longitude;secteur;siret\n"
FABRIQUE = "1;tl;La Fabrique;44000;Nantes;47.2110;-1.5640;reemploi;\n"


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
