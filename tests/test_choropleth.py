"""GET /api/choropleth: every area's exact count for the filters, per inhabitants, classes."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.area_totals import populations
from app.choropleth import ValueClass, value_classes
from app.regions import list_departements, list_regions

QUERIES = [
    {},
    {"category": "mediation-numerique"},
    {"category": ["mediation-numerique", "alimentation"]},
    {"legal_form": "association"},
    {"legal_form": "cooperative", "category": "mediation-numerique"},
    {"q": "numérique"},
    {"region": "52"},
    {"departement": "75", "category": "reemploi"},
    {"status": "all"},
]


def regions_counts(client: TestClient, params: dict[str, Any]) -> tuple[dict[str, int], ...]:
    """The counts /api/regions gives for these filters: per région, per département."""
    body = client.get("/api/regions", params=params).json()
    by_region = {region["code"]: region["count"] for region in body}
    by_departement = {d["code"]: d["count"] for region in body for d in region["departements"]}
    return by_region, by_departement


def choropleth_counts(client: TestClient, params: dict[str, Any], level: str) -> dict[str, int]:
    """The counts /api/choropleth gives at one level."""
    response = client.get("/api/choropleth", params={**params, "level": level})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return {area["code"]: area["count"] for area in response.json()["areas"]}


@pytest.mark.parametrize("params", QUERIES, ids=repr)
def test_choropleth_counts_equal_api_regions_for_the_same_filters(
        client: TestClient, params: dict[str, Any]) -> None:
    by_region, by_departement = regions_counts(client, params)
    assert choropleth_counts(client, params, "region") == by_region
    assert choropleth_counts(client, params, "departement") == by_departement


def test_mediation_numerique_is_counted_in_its_two_regions(client: TestClient) -> None:
    counts = choropleth_counts(client, {"category": "mediation-numerique"}, "region")
    assert {code: n for code, n in counts.items() if n} == {"11": 1, "52": 1}
    assert len(counts) == len(list_regions())


def test_per_10000_divides_by_the_gazetteer_population(client: TestClient) -> None:
    body = client.get("/api/choropleth", params={"level": "departement",
                                                 "measure": "per_10000"}).json()
    paris = next(area for area in body["areas"] if area["code"] == "75")
    population = populations().departements["75"]
    assert paris == {"code": "75", "name": "Paris", "count": 2, "population": population,
                     "value": round(2 * 10_000 / population, 2)}
    assert body["measure"] == "per_10000"
    assert len(body["areas"]) == len(list_departements())


def test_classes_cover_every_value_in_order(client: TestClient) -> None:
    body = client.get("/api/choropleth").json()
    values = sorted({area["value"] for area in body["areas"]})
    classes = body["classes"]
    assert classes[0]["low"] == values[0] == 0
    assert classes[-1]["high"] == values[-1] == 3
    assert all(a["high"] < b["low"] for a, b in pairwise(classes))


def test_value_classes_are_at_most_five_quantiles() -> None:
    assert value_classes([]) == []
    assert value_classes([2.0, 2.0]) == [ValueClass(2.0, 2.0)]
    assert value_classes([float(n) for n in range(10)]) == [
        ValueClass(0, 1), ValueClass(2, 3), ValueClass(4, 5), ValueClass(6, 7), ValueClass(8, 9)]


@pytest.mark.parametrize(("params", "parameter"), [
    ({"level": "commune"}, "level"), ({"measure": "per_capita"}, "measure"),
    ({"zoom": "3"}, "zoom"), ({"region": "99"}, "region")])
def test_a_wrong_parameter_is_400_naming_it(client: TestClient, params: dict[str, str],
                                             parameter: str) -> None:
    response = client.get("/api/choropleth", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["parameter"] == parameter
