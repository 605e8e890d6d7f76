"""GET /api/organisations and /api/organisations/{id}."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from postgres_cluster import BOTH_BACKENDS

BACKENDS = BOTH_BACKENDS

GEOJSON = "application/geo+json"
ALL = 8


def names(body: dict[str, Any]) -> list[str]:
    return sorted(feature["properties"]["name"] for feature in body["features"])


def test_list_is_an_rfc7946_feature_collection(client: TestClient) -> None:
    response = client.get("/api/organisations")
    assert response.status_code == 200
    assert response.headers["content-type"] == GEOJSON
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert "crs" not in body
    assert body["numberReturned"] == ALL
    assert body["links"] == []
    coopaname = next(f for f in body["features"] if f["properties"]["name"] == "Coopaname")
    assert coopaname["geometry"] == {"type": "Point", "coordinates": [2.4075, 48.8554]}
    assert isinstance(coopaname["id"], int)


def test_feature_properties_are_public_fields_only(client: TestClient) -> None:
    text = client.get("/api/organisations").text
    for private in (
        "Camille Privée",
        "camille.privee@example.org",
        "06 12 34 56 78",
        "note interne",
        "contact_name",
        "internal_notes",
        "search_text",
        "content_hash",
        '"key"',
    ):
        assert private not in text


def test_place_fields_come_from_the_gazetteer(client: TestClient) -> None:
    body = client.get("/api/organisations", params={"q": "framasoft"}).json()
    (feature,) = body["features"]
    properties = feature["properties"]
    assert properties["citycode"] == "69387"
    assert properties["departement"] == "69"
    assert properties["region"] == "84"
    assert properties["geocode_precision"] == "municipality"
    assert properties["geocode_source"] == "gazetteer"
    assert properties["categories"] == ["communs-numeriques", "culture-education-populaire"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "mediation-numerique"}, ["Emmaüs Connect", "La MedNum"]),
        (
            {"category": ["alimentation", "reemploi"]},
            ["Emmaüs Connect", "Épicerie solidaire d'Ajaccio"],
        ),
        ({"region": "11"}, ["Coopaname", "Emmaüs Connect", "Simplon"]),
        ({"region": "94"}, ["Épicerie solidaire d'Ajaccio"]),
        ({"departement": "974"}, ["Santé Solidaire Réunion"]),
        ({"departement": "2A"}, ["Épicerie solidaire d'Ajaccio"]),
        ({"legal_form": "cooperative"}, ["Coopaname", "La MedNum"]),
        ({"q": "emmaus"}, ["Emmaüs Connect"]),
        ({"q": "EPICERIE"}, ["Épicerie solidaire d'Ajaccio"]),
        ({"q": "nantes"}, ["La MedNum"]),
        ({"q": "100%"}, []),
        ({"bbox": "2.2,48.8,2.5,48.9"}, ["Coopaname", "Emmaüs Connect", "Simplon"]),
        ({"bbox": "2.2,48.8,2.5,48.9", "category": "formation-numerique"}, ["Simplon"]),
    ],
)
def test_filters_select_the_expected_structures(
    client: TestClient, params: dict[str, Any], expected: list[str]
) -> None:
    response = client.get("/api/organisations", params=params)
    assert response.status_code == 200
    assert names(response.json()) == sorted(expected)


def test_keyset_paging_visits_every_structure_once(client: TestClient) -> None:
    seen: list[int] = []
    url: str | None = "/api/organisations?limit=3"
    pages = 0
    while url:
        body = client.get(url).json()
        seen.extend(feature["id"] for feature in body["features"])
        links = [link for link in body["links"] if link["rel"] == "next"]
        url = links[0]["href"] if links else None
        pages += 1
    assert pages == 3
    assert seen == sorted(seen)
    assert len(set(seen)) == ALL


def test_keyset_paging_of_one_sector_gives_its_members_once_in_id_order(
    client: TestClient,
) -> None:
    seen: list[int] = []
    names_seen: list[str] = []
    url: str | None = "/api/organisations?category=mediation-numerique&limit=1"
    while url:
        body = client.get(url).json()
        assert body["numberMatched"] == 2
        seen.extend(feature["id"] for feature in body["features"])
        names_seen.extend(feature["properties"]["name"] for feature in body["features"])
        links = [link for link in body["links"] if link["rel"] == "next"]
        url = links[0]["href"] if links else None
    assert seen == sorted(seen)
    assert sorted(names_seen) == ["Emmaüs Connect", "La MedNum"]


def test_next_link_keeps_the_filters(client: TestClient) -> None:
    body = client.get("/api/organisations", params={"region": "11", "limit": 1}).json()
    href = body["links"][0]["href"]
    assert "region=11" in href
    assert "limit=1" in href
    assert "after=" in href


def test_default_limit_is_100_and_limit_above_5000_is_400(client: TestClient) -> None:
    response = client.get("/api/organisations", params={"limit": 5001})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "status": 400,
            "code": "invalid_parameter",
            "message": "limit must be at most 5000, got 5001",
            "parameter": "limit",
        }
    }


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "2,49,3,48"}, "bbox"),
        ({"bbox": "2,48,3,91"}, "bbox"),
        ({"bbox": "nan,48,3,49"}, "bbox"),
        ({"category": "licornes"}, "category"),
        ({"region": "99"}, "region"),
        ({"departement": "20"}, "departement"),
        ({"legal_form": "sarl"}, "legal_form"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"after": -1}, "after"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    client: TestClient, params: dict[str, Any], parameter: str
) -> None:
    response = client.get("/api/organisations", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["status"] == 400
    assert error["code"] == "invalid_parameter"
    assert error["parameter"] == parameter
    assert parameter in error["message"]


def test_bbox_with_three_numbers_is_400(client: TestClient) -> None:
    response = client.get("/api/organisations", params={"bbox": "1,2,3"})
    assert response.json()["error"]["message"] == (
        "bbox must be 4 comma-separated numbers minLon,minLat,maxLon,maxLat; got 3"
    )


def test_unknown_category_error_lists_the_known_ones(client: TestClient) -> None:
    message = client.get("/api/organisations?category=licornes").json()["error"]["message"]
    assert message.startswith("unknown category 'licornes'; expected one of: ")
    assert "civic-tech" in message


def test_one_organisation_by_id(client: TestClient) -> None:
    first = client.get("/api/organisations", params={"q": "coopaname"}).json()["features"][0]
    response = client.get(f"/api/organisations/{first['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == GEOJSON
    assert response.json() == first


def test_unknown_id_is_404(client: TestClient) -> None:
    response = client.get("/api/organisations/999999")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "status": 404,
            "code": "not_found",
            "message": "no structure with id 999999",
            "parameter": "organisation_id",
        }
    }


def test_non_numeric_id_is_400(client: TestClient) -> None:
    response = client.get("/api/organisations/abc")
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "organisation_id"


def test_unknown_path_is_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"status": 404, "code": "not_found", "message": "Not Found"}
    }


def test_features_match_the_public_model(client: TestClient) -> None:
    from app.models import OrganisationPublic

    feature = client.get("/api/organisations", params={"q": "coopaname"}).json()["features"][0]
    public = OrganisationPublic.model_validate(
        {
            **feature["properties"],
            "id": feature["id"],
            "lon": feature["geometry"]["coordinates"][0],
            "lat": feature["geometry"]["coordinates"][1],
        }
    )
    assert set(feature["properties"]) == set(OrganisationPublic.model_fields) - {"id", "lat", "lon"}
    assert public.name == "Coopaname"


def test_timestamps_are_utc_iso_8601(client: TestClient) -> None:
    properties = client.get("/api/organisations").json()["features"][0]["properties"]
    assert properties["created_at"].endswith("Z")
    assert properties["updated_at"].endswith("Z")


@pytest.mark.parametrize("f", ["json", "geojson"])
@pytest.mark.parametrize("path", ["/api/organisations", "/api/organisations/1"])
def test_f_json_or_geojson_is_accepted_as_ogc_clients_send_it(
    client: TestClient, path: str, f: str,
) -> None:
    plain = client.get(path)
    asked = client.get(path, params={"f": f})
    assert (asked.status_code, asked.headers["content-type"]) == (200, GEOJSON)
    assert asked.json() == plain.json()


@pytest.mark.parametrize("path", ["/api/organisations", "/api/organisations/1"])
def test_another_f_is_400_naming_it(client: TestClient, path: str) -> None:
    response = client.get(path, params={"f": "html"})
    assert (response.status_code, response.headers["content-type"]) == (400, "application/json")
    assert response.json()["error"] == {
        "status": 400, "code": "invalid_parameter", "parameter": "f",
        "message": "unknown f 'html'; expected one of: geojson, json"}
