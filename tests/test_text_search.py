"""Text search (`q`): FTS5 trigrams over folded text, every character literal, ranked on demand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from postgres_cluster import BOTH_BACKENDS
from sqlalchemy import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import create_schema, make_engine, session_scope
from app.main import create_app
from app.models import PUBLIC_COLUMNS
from app.queries import OrganisationFilter, organisations_by_relevance, organisations_page
from app.storage import Placement, StoredRecord, content_hash, organisation_row, write_batch

BACKENDS = BOTH_BACKENDS

PLACE = Placement(45.7676, 4.8344, "69381", "69", "84", "given", "input")
STRUCTURES = [
    ("Épicerie Solidaire", "Vrac à 100% local", "Évry", ("alimentation",)),
    ("Ressourcerie du Pré", "Réemploi d'objets", "Lyon", ("reemploi",)),
    ("Atelier_Vélo", 'Le "Cycle" libre', "Nantes", ("mobilite",)),
    ("L'Œuvre d'Ève", "Tiers-lieu", "Lille", ("culture-education-populaire",)),
    ("Coopérative 100 pour cent", "Épicerie, épicerie, épicerie", "Paris", ("alimentation",)),
]


def stored(index: int, name: str, description: str, city: str,
           sectors: tuple[str, ...]) -> StoredRecord:
    fields = {"name": name, "description": description, "city": city}
    row = organisation_row(fields, sectors, PLACE)
    return StoredRecord(f"source:t:{index}", row, sectors, content_hash(row))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_schema(engine)
    with session_scope(engine) as session:
        write_batch(session=session, records=[stored(i, *s) for i, s in enumerate(STRUCTURES)])
    yield engine
    engine.dispose()


def names(engine: Engine, text: str) -> list[str]:
    with Session(engine) as session:
        page = organisations_page(session=session, filters=OrganisationFilter(text=text),
                                  limit=100)
    return [row[PUBLIC_COLUMNS.index("name")] for row in page.rows]


@pytest.mark.parametrize(("text", "expected"), [
    ("épicerie", ["Épicerie Solidaire", "Coopérative 100 pour cent"]),
    ("EPICERIE", ["Épicerie Solidaire", "Coopérative 100 pour cent"]),
    ("oeuvre d'eve", ["L'Œuvre d'Ève"]),
    ("Œuvre D’ÈVE", []),  # a typographic apostrophe is another character
    ("ssourc", ["Ressourcerie du Pré"]),
    ("pre", ["Ressourcerie du Pré"]),
    ("vry", ["Épicerie Solidaire"]),
    ("100%", ["Épicerie Solidaire"]),
    ("00%", ["Épicerie Solidaire"]),
    ("0 p", ["Coopérative 100 pour cent"]),
    ("r_v", ["Atelier_Vélo"]),
    ("a_b", []),
    ('"cycle"', ["Atelier_Vélo"]),
    ('e "c', ["Atelier_Vélo"]),
    ('" OR "', []),
    ("'ob", ["Ressourcerie du Pré"]),
    ("l'o", ["L'Œuvre d'Ève"]),
    ("tiers-lieu", ["L'Œuvre d'Ève"]),
    ("reemploi", ["Ressourcerie du Pré"]),
    ("education populaire", ["L'Œuvre d'Ève"]),
    ("zzz", []),
])
def test_text_search_is_a_literal_substring_with_accents_and_case_ignored(
    engine: Engine, text: str, expected: list[str]
) -> None:
    assert names(engine, text) == expected


def test_relevance_puts_the_text_that_says_it_most_first(engine: Engine) -> None:
    with Session(engine) as session:
        ranked = organisations_by_relevance(
            session=session, filters=OrganisationFilter(text="epicerie"), limit=1)
    assert [row["name"] for row in ranked.rows] == ["Coopérative 100 pour cent"]
    assert ranked.more is True


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(_env_file=None, database_url=database_url,  # type: ignore[call-arg]
                        load_default_directory=False, geocoder_url=None,
                        geocoder_cache_path=tmp_path / "cache.sqlite3")
    engine = make_engine(settings.database_url)
    create_schema(engine)
    with session_scope(engine) as session:
        write_batch(session=session, records=[stored(i, *s) for i, s in enumerate(STRUCTURES)])
    engine.dispose()
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize("q", ["ab", " é ", "œ"])
def test_q_shorter_than_three_characters_is_400(client: TestClient, q: str) -> None:
    response = client.get("/api/organisations", params={"q": q})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "status": 400, "code": "invalid_parameter", "parameter": "q",
        "message": f"q must have at least 3 characters (accents and case ignored), "
                   f"got {q.strip()!r}"}


def test_sort_relevance_gives_the_best_matches_and_says_more_matched(client: TestClient) -> None:
    response = client.get("/api/organisations",
                          params={"q": "épicerie", "sort": "relevance", "limit": 1})
    assert response.status_code == 200
    body = response.json()
    assert [f["properties"]["name"] for f in body["features"]] == ["Coopérative 100 pour cent"]
    assert (body["numberReturned"], body["moreMatched"], body["links"]) == (1, True, [])


def test_after_keeps_only_higher_ids_in_relevance_order(client: TestClient) -> None:
    every = client.get("/api/organisations", params={"q": "epicerie", "sort": "relevance"})
    ids = [f["id"] for f in every.json()["features"]]
    assert len(ids) >= 2
    after = min(ids)
    response = client.get("/api/organisations",
                          params={"q": "epicerie", "sort": "relevance", "after": after})
    assert response.status_code == 200
    assert [f["id"] for f in response.json()["features"]] == [i for i in ids if i > after]


def test_relevance_without_text_ranks_every_structure_the_same_in_id_order(
    client: TestClient,
) -> None:
    response = client.get("/api/organisations", params={"sort": "relevance", "limit": 2})
    assert response.status_code == 200
    body = response.json()
    every = client.get("/api/organisations").json()["features"]
    assert [f["id"] for f in body["features"]] == [f["id"] for f in every[:2]]
    assert body["moreMatched"] is (len(every) > 2)


@pytest.mark.parametrize(("params", "parameter"), [
    ({"sort": "name", "q": "epicerie"}, "sort"),
])
def test_bad_relevance_requests_are_400(
    client: TestClient, params: dict[str, object], parameter: str
) -> None:
    response = client.get("/api/organisations", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == parameter
