"""/api/clusters, /api/facets and numberMatched over 20,000 structures spread like France."""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode

import numpy as np
import pytest
from aggregate_data import SECTORS, Stored, france_records, matches, stored, write
from fastapi.testclient import TestClient
from postgres_cluster import BOTH_BACKENDS, DatabaseUrls
from sqlalchemy import Engine, event

from app import grid, summaries
from app.config import Settings
from app.db import create_schema, make_engine, session_scope
from app.deps import parse_bbox
from app.main import create_app
from app.queries import OrganisationFilter
from app.storage import delete_organisation
from app.taxonomy import LegalForm

BACKENDS = BOTH_BACKENDS

ROWS = 20_000
FRANCE = "-5.5,41.2,9.8,51.2"
BOXES = [None, FRANCE, "2.25,48.81,2.42,48.90", "170,-25,-170,-10"]
FILTERS = [
    {}, {"category": ["habitat"]}, {"category": ["habitat", "reemploi"]},
    {"legal_form": ["association"]}, {"region": ["11"]}, {"departement": ["69"]},
    {"q": "emile"}, {"category": ["alimentation"], "legal_form": ["cooperative"], "region": ["84"]},
]


@pytest.fixture(scope="module")
def database(
    tmp_path_factory: pytest.TempPathFactory, database_urls: DatabaseUrls,
) -> Iterator[Engine]:
    """20,000 structures written through storage.write_batch."""
    engine = make_engine(database_urls(tmp_path_factory.mktemp("clusters")))
    create_schema(engine)
    write(engine, france_records(ROWS))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def everything(database: Engine) -> list[Stored]:
    return stored(database)


@pytest.fixture(scope="module")
def api(database: Engine) -> Iterator[TestClient]:
    settings = Settings(_env_file=None, database_url=str(database.url),  # type: ignore[call-arg]
                        load_default_directory=False, geocoder_url=None)
    with TestClient(create_app(settings)) as client:
        yield client


def as_filter(parameters: dict[str, Any]) -> OrganisationFilter:
    """The OrganisationFilter the API builds from these parameters."""
    return OrganisationFilter(
        categories=tuple(parameters.get("category", ())),
        regions=tuple(parameters.get("region", ())),
        departements=tuple(parameters.get("departement", ())),
        legal_forms=tuple(parameters.get("legal_form", ())), text=parameters.get("q"),
        bbox=parse_bbox(parameters["bbox"]) if parameters.get("bbox") else None)


def brute_count(everything: list[Stored], parameters: dict[str, Any]) -> int:
    filters = as_filter(parameters)
    return sum(matches(item, filters) for item in everything)


def with_box(parameters: dict[str, Any], box: str | None) -> dict[str, Any]:
    return {**parameters, "bbox": box} if box else dict(parameters)


def get_json(api: TestClient, path: str, parameters: dict[str, Any]) -> dict[str, Any]:
    response = api.get(path, params=parameters)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("parameters", FILTERS, ids=lambda p: urlencode(p, doseq=True) or "none")
def test_cluster_counts_add_up_to_number_matched_at_every_zoom(
    api: TestClient, everything: list[Stored], parameters: dict[str, Any]
) -> None:
    for box in BOXES:
        query = with_box(parameters, box)
        expected = brute_count(everything, query)
        for zoom in range(19):
            body = get_json(api, "/api/clusters", {**query, "zoom": zoom})
            counts = [feature["properties"]["count"] for feature in body["features"]]
            assert (sum(counts), body["numberMatched"]) == (expected, expected), (box, zoom)
            assert body["numberReturned"] == len(counts)


def test_clusters_hold_their_members_and_single_structures_are_themselves(
    api: TestClient, everything: list[Stored]
) -> None:
    by_id = {item.id: item for item in everything}
    query = {"bbox": "0.3,43.1,5.7,47.3", "category": ["habitat"]}
    filters = as_filter(query)
    for zoom in (6, 9, 12, 15):
        body = get_json(api, "/api/clusters", {**query, "zoom": zoom})
        singles = [f for f in body["features"] if not f["properties"]["cluster"]]
        clusters = [f for f in body["features"] if f["properties"]["cluster"]]
        assert singles and clusters
        for feature in singles:
            item = by_id[feature["id"]]
            assert matches(item, filters)
            assert feature["geometry"]["coordinates"] == [round(item.lon, 6), round(item.lat, 6)]
            assert feature["properties"]["count"] == 1
        for feature in clusters:
            lon, lat = feature["geometry"]["coordinates"]
            west, south, east, north = feature["bbox"]
            assert west - 1e-6 <= lon <= east + 1e-6 and south - 1e-6 <= lat <= north + 1e-6
            mix = feature["properties"]["sectors"]
            assert feature["properties"]["count"] > 1 and mix["habitat"] >= 1
            assert sum(mix.values()) >= feature["properties"]["count"]
            assert set(mix) <= set(SECTORS)


def test_the_france_view_is_a_few_hundred_features(api: TestClient) -> None:
    for zoom in (5, 6, 7):
        for parameters in ({}, {"category": ["habitat"]}):
            response = api.get("/api/clusters", params={**parameters, "bbox": FRANCE,
                                                        "zoom": zoom})
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/geo+json"
            body = response.json()
            assert body["numberMatched"] > 1000
            assert len(body["features"]) <= 400, zoom
            assert len(response.content) < 100_000


def tile_block(lon: float, lat: float, zoom: int, across: int, down: int) -> str:
    """The bbox the map page asks for a block of tiles of `zoom` from the one holding a point."""
    n = 1 << zoom
    x0, y0 = math.floor(grid.x_of(lon) * n), math.floor(grid.y_of(lat) * n)
    west, east = grid.lon_of(x0 / n), grid.lon_of((x0 + across) / n)
    north, south = grid.lat_of(y0 / n), grid.lat_of((y0 + down) / n)
    return ",".join(f"{value:.6f}" for value in (west, south, east, north))


def brute_clusters(everything: list[Stored], parameters: dict[str, Any], level: int
                   ) -> dict[tuple[int, int], list[Stored]]:
    """The matching structures of each display cell, grouped in Python."""
    filters, n = as_filter(parameters), 1 << level
    cells: dict[tuple[int, int], list[Stored]] = {}
    for item in everything:
        if matches(item, filters):
            cell = (min(n - 1, math.floor(grid.x_of(item.lon) * n)),
                    min(n - 1, math.floor(grid.y_of(item.lat) * n)))
            cells.setdefault(cell, []).append(item)
    return cells


def expected_mix(members: list[Stored], parameters: dict[str, Any]) -> dict[str, int]:
    """A cluster's sector mix: every sector of its members, or only the filtered ones."""
    mix = Counter(sector for item in members for sector in item.categories)
    kept = parameters.get("category")
    return {sector: count for sector, count in mix.items() if not kept or sector in kept}


@pytest.mark.parametrize("parameters", [{}, {"category": ["habitat"]},
                                        {"legal_form": ["association"]}],
                         ids=lambda p: urlencode(p, doseq=True) or "none")
def test_clusters_at_zoom_11_to_14_are_the_cells_of_their_members(
    api: TestClient, everything: list[Stored], parameters: dict[str, Any]
) -> None:
    """Counted from finer cells or live, each cluster is its members: count, centre, mix."""
    for lon, lat in ((2.35, 48.86), (4.84, 45.76), (-1.55, 47.22)):
        for zoom in (11, 12, 13, 14):
            query = {**parameters, "bbox": tile_block(lon - 0.1, lat + 0.05, zoom, 5, 4),
                     "zoom": zoom}
            body = get_json(api, "/api/clusters", query)
            assert body["gridLevel"] == zoom + 2
            cells = brute_clusters(everything, query, body["gridLevel"])
            found = {}
            for feature in body["features"]:
                if feature["properties"]["cluster"]:
                    _, cx, cy = map(int, feature["id"].split("/"))
                    found[(cx, cy)] = feature
            singles = {feature["id"] for feature in body["features"]
                       if not feature["properties"]["cluster"]}
            assert singles == {members[0].id for members in cells.values() if len(members) == 1}
            assert set(found) == {cell for cell, members in cells.items() if len(members) > 1}
            for cell, feature in found.items():
                members = cells[cell]
                assert feature["properties"]["count"] == len(members)
                assert feature["properties"]["sectors"] == expected_mix(members, query)
                lon_mean = sum(item.lon for item in members) / len(members)
                lat_mean = sum(item.lat for item in members) / len(members)
                assert feature["geometry"]["coordinates"] == pytest.approx(
                    [lon_mean, lat_mean], abs=2e-6)
                assert feature["bbox"] == pytest.approx(
                    [min(i.lon for i in members), min(i.lat for i in members),
                     max(i.lon for i in members), max(i.lat for i in members)], abs=1e-6)


def clear_edges_block(everything: list[Stored], parameters: dict[str, Any]) -> str:
    """A 3 x 3 block of zoom-12 tiles with a town inside and no structure near its edges.

    Near: within one level-16 cell, the widest strip counted on rows at that zoom.
    """
    near = 360 / (1 << 16)
    lons = np.array([item.lon for item in everything])
    lats = np.array([item.lat for item in everything])
    kept = np.array([matches(item, as_filter(parameters)) for item in everything])
    for town in sorted(everything, key=lambda item: item.id):
        if not (42 < town.lat < 51 and -5 < town.lon < 8):
            continue
        text = tile_block(town.lon - 0.09, town.lat + 0.06, 12, 3, 3)
        box = parse_bbox(text)
        inside = ((lons >= box.min_lon) & (lons <= box.max_lon) & (lats >= box.min_lat)
                  & (lats <= box.max_lat))
        edge = np.minimum.reduce([lons - box.min_lon, box.max_lon - lons, lats - box.min_lat,
                                  box.max_lat - lats])
        if not (inside & (edge < near)).any() and (inside & kept).sum() >= 20:
            return text
    raise AssertionError("no zoom-12 view with clear edges in the fixture")


def counted_on_rows(database: Engine, filters: OrganisationFilter, zoom: int
                    ) -> tuple[summaries.ClusterView, int]:
    """A cluster view, and how many structures its statements on `organisation` counted.

    Every statement that groups organisation rows is recorded, then run again to sum the
    structures it counted (the lookup of single structures by id groups nothing).
    """
    recorded: list[tuple[str, Any]] = []

    def record(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if re.search(r"\borganisation\b", statement) and "GROUP BY" in statement:
            recorded.append((statement, parameters))

    event.listen(database, "before_cursor_execute", record)
    try:
        with session_scope(database) as session:
            view = summaries.clusters(session=session, filters=filters, zoom=zoom)
    finally:
        event.remove(database, "before_cursor_execute", record)
    counted = 0
    with database.connect() as connection:
        for statement, parameters in recorded:
            rows = connection.exec_driver_sql(statement, parameters).all()
            counted += sum(int(row[-8]) for row in rows)
    return view, counted


@pytest.mark.parametrize("parameters", [{}, {"category": ["habitat"]}],
                         ids=lambda p: urlencode(p, doseq=True) or "none")
def test_a_zoom_12_view_with_no_filter_or_one_sector_counts_no_row_live(
    database: Engine, everything: list[Stored], parameters: dict[str, Any]
) -> None:
    """Its structures come from the sector and legal-form cells down to level 16."""
    query = {**parameters, "bbox": clear_edges_block(everything, parameters)}
    view, counted = counted_on_rows(database, as_filter(query), 12)
    assert view.level == 14
    assert view.number_matched == brute_count(everything, query)
    assert view.clusters
    assert counted == 0
    # A legal form needs the sector-and-form pairs, stored down to level 12 only: the whole
    # box is counted on its rows (the sector and legal form are checked on their groups).
    formed = {**query, "legal_form": ["association"]}
    view, counted = counted_on_rows(database, as_filter(formed), 12)
    assert view.number_matched == brute_count(everything, formed) > 0
    assert counted == brute_count(everything, {"bbox": query["bbox"]})


def test_a_stack_of_structures_at_one_point_is_one_cluster_at_high_zoom(
    api: TestClient, everything: list[Stored]
) -> None:
    item = next(i for i in everything if i.id % 97 == 0 and 42 < i.lat < 51)
    box = f"{item.lon - 0.0005},{item.lat - 0.0005},{item.lon + 0.0005},{item.lat + 0.0005}"
    body = get_json(api, "/api/clusters", {"bbox": box, "zoom": 18})
    here = [f for f in body["features"]
            if f["geometry"]["coordinates"] == [round(item.lon, 6), round(item.lat, 6)]]
    assert len(here) == 1
    assert here[0]["properties"]["count"] == body["numberMatched"] == sum(
        matches(other, as_filter({"bbox": box})) for other in everything)


@pytest.mark.parametrize("parameters", [
    {}, {"category": ["habitat"]}, {"bbox": "0.3,43.1,5.7,47.3", "legal_form": ["association"]},
    {"bbox": "170,-25,-170,-10"}, {"q": "emile", "region": ["84"]}, {"q": "emile"},
], ids=lambda p: urlencode(p, doseq=True) or "none")
def test_number_matched_is_the_count_of_every_page(
    api: TestClient, everything: list[Stored], parameters: dict[str, Any]
) -> None:
    query: dict[str, Any] = {**parameters, "limit": 5000}
    seen, matched = 0, set()
    while True:
        body = get_json(api, "/api/organisations", query)
        matched.add(body["numberMatched"])
        seen += body["numberReturned"]
        following = [link for link in body["links"] if link["rel"] == "next"]
        if not following:
            break
        query = {k: v for k, v in parse_qs(following[0]["href"].split("?", 1)[1]).items()}
    assert matched == {seen} == {brute_count(everything, parameters)}


def test_number_matched_of_a_box_is_exact_through_points_and_cell_edges(
    api: TestClient, everything: list[Stored]
) -> None:
    draw = random.Random(8)  # noqa: S311  (reproducible, not secret)
    boxes = [(2.25, 48.81, 2.42, 48.90)]
    for item in draw.sample(everything, 12):  # edges through stored points
        boxes += [(item.lon, item.lat - 0.4, item.lon + 0.6, item.lat),
                  (item.lon - 0.6, item.lat, item.lon, item.lat + 0.4)]
    for level, item in zip([12, *grid.FINE_LEVELS] * 4, draw.sample(everything, 16),
                           strict=True):  # edges on (and a hair off) grid cell edges
        n, size = 1 << level, 0.3 / (1 << (level - 12))  # a few dozen cells of the level
        west = grid.lon_of(math.floor(grid.x_of(item.lon) * n) / n)
        north = grid.lat_of(math.floor(grid.y_of(item.lat) * n) / n)
        hair = draw.choice([0.0, 1e-7, -1e-7, 5e-7])
        boxes.append((west - size + hair, north - size, west + hair, north + hair))
    for box in boxes:
        text = ",".join(repr(value) for value in box)
        body = get_json(api, "/api/organisations", {"bbox": text, "limit": 1})
        assert body["numberMatched"] == brute_count(everything, {"bbox": text}), text


@pytest.mark.parametrize("parameters", [
    {}, {"bbox": FRANCE}, {"bbox": "0.3,43.1,5.7,47.3", "category": ["habitat"]},
    {"category": ["habitat", "reemploi"], "legal_form": ["association", "fondation"]},
    {"region": ["11"], "legal_form": ["cooperative"]}, {"q": "emile", "bbox": FRANCE},
    {"bbox": "170,-25,-170,-10"}, {"departement": ["69"], "bbox": "4.80,45.74,4.86,45.78"},
], ids=lambda p: urlencode(p, doseq=True) or "none")
def test_facets_equal_brute_force_counts(
    api: TestClient, everything: list[Stored], parameters: dict[str, Any]
) -> None:
    body = get_json(api, "/api/facets", parameters)
    filters = as_filter(parameters)
    sectors = {c["value"]: c["count"] for c in body["categories"]}
    forms = {f["value"]: f["count"] for f in body["legal_forms"]}
    assert body["numberMatched"] == sum(matches(item, filters) for item in everything)
    for slug, count in sectors.items():
        assert count == sum(slug in item.categories for item in everything
                            if matches(item, filters, skip={"categories"})), slug
    assert set(forms) == {*(form.value for form in LegalForm), None}
    for form, count in forms.items():
        assert count == sum(item.legal_form == form for item in everything
                            if matches(item, filters, skip={"legal_forms"})), form


@pytest.mark.parametrize(("query", "parameter"), [
    ("bbox=" + FRANCE, "zoom"), ("zoom=-1", "zoom"), ("zoom=23", "zoom"), ("zoom=6.5", "zoom"),
    ("zoom=6&bbox=1,2,3", "bbox"), ("zoom=6&category=nope", "category"),
    ("zoom=6&limit=10", "limit"),
])
def test_bad_cluster_parameters_are_400_naming_them(
    api: TestClient, query: str, parameter: str
) -> None:
    response = api.get(f"/api/clusters?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == parameter


def test_unknown_facet_parameter_is_400(api: TestClient) -> None:
    response = api.get("/api/facets?zoom=3")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "status": 400, "code": "invalid_parameter", "parameter": "zoom",
        "message": "unknown query parameter 'zoom'; expected one of: bbox, category, "
                   "departement, legal_form, q, region, siren, status, updated_since"}


def test_a_running_server_sees_writes_of_other_processes(make_settings: Any) -> None:
    settings: Settings = make_settings(load_default_directory=False)
    with TestClient(create_app(settings)) as client:
        writer = make_engine(settings.database_url)  # as another process would
        write(writer, france_records(500, seed=11))
        assert client.get("/api/clusters?zoom=5").json()["numberMatched"] == 500
        with session_scope(writer) as session:
            for organisation_id in range(1, 51):
                delete_organisation(session=session, organisation_id=organisation_id)
        body = client.get(f"/api/clusters?zoom=6&bbox={FRANCE}").json()
        everything = stored(writer)
        assert body["numberMatched"] == sum(
            matches(item, as_filter({"bbox": FRANCE})) for item in everything)
        assert client.get("/api/facets").json()["numberMatched"] == 450
        writer.dispose()


@pytest.mark.parametrize("path", ["/api/organisations", "/api/clusters?zoom=3", "/api/facets",
                                  "/api/nearby?lat=48.85&lon=2.35"])
def test_a_nul_character_in_q_is_400_not_500(api: TestClient, path: str) -> None:
    separator = "&" if "?" in path else "?"
    response = api.get(f"{path}{separator}q=abc%00def")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "status": 400, "code": "invalid_parameter", "parameter": "q",
        "message": "q must not contain a NUL character"}


def test_a_view_asked_again_after_writes_answers_the_new_data(make_settings: Any) -> None:
    """Clusters and facets are kept per data version: the same URL after a delete or an
    insert is answered from the data as it now is, never from the kept answer."""
    settings: Settings = make_settings(load_default_directory=False)
    views = ["/api/clusters?zoom=6", "/api/facets"]
    with TestClient(create_app(settings)) as client:
        answers = client.app.state.answers  # type: ignore[attr-defined]
        writer = make_engine(settings.database_url)  # as another process would
        write(writer, france_records(300, seed=12))
        assert [client.get(view).json()["numberMatched"] for view in views] == [300, 300]
        assert len(answers) == 2
        assert [client.get(view).json()["numberMatched"] for view in views] == [300, 300]
        assert len(answers) == 2  # the same two answers, served again
        with session_scope(writer) as session:
            delete_organisation(session=session, organisation_id=1)
        assert [client.get(view).json()["numberMatched"] for view in views] == [299, 299]
        write(writer, france_records(10, seed=13, first=301))
        total = len(stored(writer))
        assert [client.get(view).json()["numberMatched"] for view in views] == [total] * 2
        assert total == 309
        assert len(answers) == 6
        writer.dispose()
