"""/ogc: OGC API – Features Part 1 resources, parameters, formats and OpenAPI 3.0 document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from postgres_cluster import BOTH_BACKENDS
from sqlalchemy import event, update
from sqlmodel import Session, col

from app.main import create_app
from app.models import Organisation

BACKENDS = BOTH_BACKENDS

ITEMS = "/ogc/collections/organisations/items"
BASE = "http://testserver:80"
CONFORMANCE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"


def get_json(client: TestClient, url: str, **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def rels(body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {link["rel"]: (link["type"], link["href"]) for link in body["links"]}


def every_feature(client: TestClient) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = get_json(client, ITEMS, limit=5000)["features"]
    return features


def ids(body: dict[str, Any]) -> list[int]:
    return [feature["id"] for feature in body["features"]]


def test_landing_page_links_to_the_definition_the_conformance_and_the_data(
    client: TestClient,
) -> None:
    response = client.get("/ogc")
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json")
    assert rels(response.json()) == {
        "self": ("application/json", f"{BASE}/ogc?f=json"),
        "alternate": ("text/html", f"{BASE}/ogc?f=html"),
        "service-desc": (OPENAPI_30, f"{BASE}/ogc/api"),
        "service-doc": ("text/html", f"{BASE}/ogc/api?f=html"),
        "conformance": ("application/json", f"{BASE}/ogc/conformance"),
        "data": ("application/json", f"{BASE}/ogc/collections"),
    }


def test_links_are_under_the_public_url_when_one_is_set(make_settings: Any) -> None:
    app = create_app(make_settings(public_url="https://atlas.example.org/base"))
    with TestClient(app) as client:
        links = get_json(client, "/ogc/collections/organisations")["links"]
        document = get_json(client, "/ogc/api")
    assert [(link["type"], link["href"]) for link in links if link["rel"] == "items"] == [
        ("application/geo+json",
         "https://atlas.example.org/base/ogc/collections/organisations/items?f=json"),
        ("text/html", "https://atlas.example.org/base/ogc/collections/organisations/items?f=html"),
    ]
    assert document["servers"] == [{"url": "https://atlas.example.org/base/ogc"}]


def test_conformance_declares_only_what_is_implemented(client: TestClient) -> None:
    body = get_json(client, "/ogc/conformance")
    assert body["conformsTo"] == [f"{CONFORMANCE}{name}"
                                  for name in ("core", "geojson", "html", "oas30")]


def test_the_collection_has_the_extent_of_the_data_in_crs84(client: TestClient) -> None:
    features = every_feature(client)
    lons = [f["geometry"]["coordinates"][0] for f in features]
    lats = [f["geometry"]["coordinates"][1] for f in features]
    body = get_json(client, "/ogc/collections/organisations")
    assert body["id"] == "organisations" and body["itemType"] == "feature"
    assert body["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    assert body["extent"]["spatial"]["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    [box] = body["extent"]["spatial"]["bbox"]
    assert box == pytest.approx([min(lons), min(lats), max(lons), max(lats)], abs=1e-6)
    updated = sorted(f["properties"]["updated_at"] for f in features)
    assert body["extent"]["temporal"] == {
        "interval": [[updated[0], updated[-1]]],
        "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    listed = get_json(client, "/ogc/collections")["collections"]
    assert [c["id"] for c in listed] == ["organisations"]
    assert listed[0]["extent"] == body["extent"]


def test_an_empty_collection_has_no_extent(make_settings: Any) -> None:
    with TestClient(create_app(make_settings(load_default_directory=False))) as client:
        body = get_json(client, "/ogc/collections/organisations")
        page = get_json(client, ITEMS)
    assert "extent" not in body
    assert (page["numberMatched"], page["numberReturned"], page["features"]) == (0, 0, [])


def test_items_carry_the_counts_and_the_links(client: TestClient) -> None:
    total = len(every_feature(client))
    response = client.get(ITEMS, params={"limit": 5})
    assert (response.status_code, response.headers["content-type"]) == (
        200, "application/geo+json")
    body = response.json()
    assert (body["numberMatched"], body["numberReturned"], len(body["features"])) == (total, 5, 5)
    after = ids(body)[-1]
    assert rels(body) == {
        "self": ("application/geo+json", f"{BASE}{ITEMS}?limit=5"),
        "alternate": ("text/html", f"{BASE}{ITEMS}?limit=5&f=html"),
        "next": ("application/geo+json", f"{BASE}{ITEMS}?limit=5&after={after}"),
        "collection": ("application/json", f"{BASE}/ogc/collections/organisations?f=json"),
    }
    assert body["timeStamp"].endswith("Z")


def test_next_links_page_through_every_structure_once(client: TestClient) -> None:
    expected = [f["id"] for f in every_feature(client)]
    seen: list[int] = []
    url: str | None = f"{ITEMS}?limit=7&f=json"
    while url:
        body = get_json(client, url.removeprefix(BASE))
        seen += ids(body)
        url = rels(body).get("next", (None, None))[1]
    assert seen == expected


def test_features_are_flat_with_the_categories_joined(client: TestClient) -> None:
    api = get_json(client, "/api/organisations", limit=5000)["features"]
    ogc = every_feature(client)
    assert [f["id"] for f in ogc] == [f["id"] for f in api]
    for ours, theirs in zip(ogc, api, strict=True):
        assert ours["properties"] == {**theirs["properties"],
                                      "categories": "|".join(theirs["properties"]["categories"])}
        assert ours["geometry"] == theirs["geometry"]


@pytest.mark.parametrize("filters", [
    {"category": ["mediation-numerique", "reemploi"]},
    {"legal_form": ["association", "cooperative"]},
    {"departement": ["75", "69"]},
    {"region": ["11"]},
])
def test_list_filters_are_comma_separated_and_match_the_api(
    client: TestClient, filters: dict[str, list[str]],
) -> None:
    api = get_json(client, "/api/organisations", limit=5000, **filters)
    ogc = get_json(client, ITEMS, limit=5000, **{k: ",".join(v) for k, v in filters.items()})
    assert 0 < ogc["numberMatched"] == api["numberMatched"] == len(api["features"])
    assert ids(ogc) == ids(api)


def test_bbox_and_text_filters_match_the_api(client: TestClient) -> None:
    for params in ({"bbox": "2.2,48.8,2.5,48.9"}, {"q": "coop"}):
        api = get_json(client, "/api/organisations", limit=5000, **params)
        ogc = get_json(client, ITEMS, limit=5000, **params)
        assert 0 < ogc["numberMatched"] == api["numberMatched"]
        assert ids(ogc) == ids(api)


def test_a_bbox_with_heights_is_read_without_them(client: TestClient) -> None:
    flat = get_json(client, ITEMS, bbox="2.2,48.8,2.5,48.9")
    tall = get_json(client, ITEMS, bbox="2.2,48.8,-10,2.5,48.9,1000")
    assert ids(tall) == ids(flat) and flat["numberMatched"] > 0


@pytest.fixture
def dated(client: TestClient) -> list[int]:
    """Two structures last updated on 1 May 2020 at 10:00:00.5 UTC; the others now."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    first_two = [f["id"] for f in every_feature(client)][:2]
    with Session(engine) as session:
        session.execute(update(Organisation).where(col(Organisation.id).in_(first_two)).values(
            updated_at=datetime(2020, 5, 1, 10, 0, 0, 500_000, tzinfo=UTC)))
        session.commit()
    return first_two


@pytest.mark.parametrize(("moment", "which"), [
    ("2020-05-01", "dated"),
    ("2020-05-01T10:00:00Z", "dated"),
    ("2020-05-01T12:00:00+02:00", "dated"),
    ("2020-05-01T10:00:00", "dated"),
    ("2020-05-01T10:00:00.5Z", "dated"),
    ("2020-05-01T10:00:00.4Z", "none"),
    ("2020-05-01T10:00:01Z", "none"),
    ("../2020-05-01", "dated"),
    ("/2020-12-31T23:59:59Z", "dated"),
    ("2020-04-01/2020-05-01", "dated"),
    ("2020-05-02/..", "others"),
    ("2020-05-02T00:00:00Z/", "others"),
    ("2019-01-01/2019-12-31", "none"),
    ("../9999-12-31", "all"),
])
def test_datetime_filters_updated_at(
    client: TestClient, dated: list[int], moment: str, which: str,
) -> None:
    every = [f["id"] for f in every_feature(client)]
    expected = {"dated": dated, "none": [], "all": every,
                "others": [i for i in every if i not in dated]}[which]
    body = get_json(client, ITEMS, datetime=moment, limit=5000)
    assert (ids(body), body["numberMatched"]) == (expected, len(expected))


@pytest.mark.parametrize(("params", "which"), [
    ({"updated_since": "2020-05-02"}, "others"),
    ({"updated_since": "2020-05-01T10:00:00Z"}, "all"),
    ({"updated_since": "2020-05-01T10:00:01Z"}, "others"),
    ({"updated_since": "2020-05-01", "datetime": "../2020-12-31"}, "dated"),
    ({"updated_since": "2020-06-01", "datetime": "../2020-12-31"}, "none"),
    ({"updated_since": "2019-01-01", "datetime": "2020-06-01/.."}, "others"),
])
def test_updated_since_is_a_lower_bound_that_datetime_narrows(
    client: TestClient, dated: list[int], params: dict[str, str], which: str,
) -> None:
    every = [f["id"] for f in every_feature(client)]
    expected = {"dated": dated, "none": [], "all": every,
                "others": [i for i in every if i not in dated]}[which]
    body = get_json(client, ITEMS, limit=5000, **params)
    assert (ids(body), body["numberMatched"]) == (expected, len(expected))


@pytest.mark.parametrize(("moment", "message"), [
    ("2020-05-01T10", "'2020-05-01T10' is not an RFC 3339 date"),
    ("2020-02-30", "'2020-02-30' is not a real date or time"),
    ("../..", "an interval needs at least one end"),
    ("2021-01-01/2020-01-01", "the interval '2021-01-01/2020-01-01' ends before it starts"),
    ("2020-01-01/2020-02-01/2020-03-01", "an interval has one '/'"),
])
def test_a_wrong_datetime_is_400_naming_it(client: TestClient, moment: str, message: str) -> None:
    response = client.get(ITEMS, params={"datetime": moment})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["parameter"]) == ("invalid_parameter", "datetime")
    assert error["message"].startswith(f"datetime: {message}")


@pytest.mark.parametrize(("params", "parameter", "message"), [
    ({"limit": "0"}, "limit", "limit must be between 1 and 9223372036854775807, got 0"),
    ({"limit": "ten"}, "limit",
     "limit must be an integer written with the ASCII digits 0-9, got 'ten'"),
    ({"limit": ["5", "6"]}, "limit", "limit must be given at most once"),
    ({"category": "nope"}, "category", "unknown category 'nope'; expected one of: "),
    ({"category": "reemploi,"}, "category", "category has an empty value"),
    ({"bbox": "1,2,3"}, "bbox", "bbox must be 4 comma-separated numbers"),
    ({"q": "ab"}, "q", "q must have at least 3 characters"),
    ({"q": "x" * 201}, "q", "q must have at most 200 characters"),
    ({"f": "xml"}, "f", "f must be one of: geojson, html, json; got 'xml'"),
    ({"crs": "EPSG:4326"}, "crs", "unknown query parameter 'crs'; expected one of: after, "
     "bbox, category, datetime, departement, f, legal_form, limit, q, region, updated_since"),
    ({"updated_since": "yesterday"}, "updated_since",
     "updated_since: 'yesterday' is not an RFC 3339 date"),
])
def test_a_wrong_or_unknown_parameter_is_400_in_the_error_shape(
    client: TestClient, params: dict[str, Any], parameter: str, message: str,
) -> None:
    response = client.get(ITEMS, params=params)
    assert (response.status_code, response.headers["content-type"]) == (400, "application/json")
    error = response.json()["error"]
    assert (error["status"], error["code"], error["parameter"]) == (
        400, "invalid_parameter", parameter)
    assert error["message"].startswith(message)


@pytest.mark.parametrize("path", ["/ogc", "/ogc/conformance", "/ogc/api", "/ogc/collections",
                                  "/ogc/collections/organisations", f"{ITEMS}/1"])
def test_other_resources_take_only_f(client: TestClient, path: str) -> None:
    response = client.get(path, params={"limit": "1"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "unknown query parameter 'limit'; expected one of: f")


@pytest.mark.parametrize(("accept", "params", "expected"), [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", {}, "text/html"),
    ("application/geo+json, application/json", {}, "application/geo+json"),
    ("*/*", {}, "application/geo+json"),
    ("text/html;q=0.5, application/json", {}, "application/geo+json"),
    ("text/html", {"f": "json"}, "application/geo+json"),
    ("application/json", {"f": "html"}, "text/html"),
    ("application/json", {"f": "geojson"}, "application/geo+json"),
])
def test_f_or_else_accept_chooses_json_or_html(
    client: TestClient, accept: str, params: dict[str, str], expected: str,
) -> None:
    response = client.get(f"{ITEMS}/1", params=params, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected


def test_one_item_is_a_feature_with_its_links(client: TestClient) -> None:
    first = every_feature(client)[0]
    response = client.get(f"{ITEMS}/{first['id']}")
    assert (response.status_code, response.headers["content-type"]) == (
        200, "application/geo+json")
    body = response.json()
    assert {k: body[k] for k in ("type", "id", "geometry", "properties")} == first
    assert rels(body) == {
        "self": ("application/geo+json", f"{BASE}{ITEMS}/{first['id']}?f=json"),
        "alternate": ("text/html", f"{BASE}{ITEMS}/{first['id']}?f=html"),
        "collection": ("application/json", f"{BASE}/ogc/collections/organisations?f=json"),
    }


@pytest.mark.parametrize(("path", "parameter"), [
    (f"{ITEMS}/999999", "featureId"), (f"{ITEMS}/abc", "featureId"),
    (f"{ITEMS}/99999999999999999999", "featureId"), ("/ogc/collections/other", "collectionId"),
    ("/ogc/collections/other/items", "collectionId"),
])
def test_what_does_not_exist_is_404(client: TestClient, path: str, parameter: str) -> None:
    response = client.get(path)
    assert (response.status_code, response.headers["content-type"]) == (404, "application/json")
    assert response.json()["error"]["parameter"] == parameter


def test_html_pages_escape_what_they_show(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        session.execute(update(Organisation).where(col(Organisation.id) == 1).values(
            name="<b>Bold</b> & co"))
        session.commit()
    for path in (f"{ITEMS}/1", ITEMS):
        response = client.get(path, params={"f": "html"})
        assert response.status_code == 200
        assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in response.text
        assert "<b>Bold" not in response.text and "<script" not in response.text


def test_the_items_page_links_each_structure_and_the_next_page(client: TestClient) -> None:
    response = client.get(ITEMS, params={"f": "html", "limit": 2})
    body = get_json(client, ITEMS, limit=2)
    first, second = ids(body)
    assert f'<a href="items/{first}?f=html">{first}</a>' in response.text
    assert f'<a href="{BASE}{ITEMS}?f=html&amp;limit=2&amp;after={second}" rel="next">' in (
        response.text)
    assert f"<p>2 structures of {body['numberMatched']} matching, in id order.</p>" in (
        response.text)


def test_the_definition_is_a_valid_openapi_30_document(client: TestClient) -> None:
    response = client.get("/ogc/api")
    assert (response.status_code, response.headers["content-type"]) == (200, OPENAPI_30)
    document = response.json()
    validate(document)
    assert document["openapi"] == "3.0.3"
    assert sorted(document["paths"]) == [
        "/", "/api", "/collections", "/collections/organisations",
        "/collections/organisations/items", "/collections/organisations/items/{featureId}",
        "/conformance"]


def test_the_definition_declares_the_filters_as_clients_send_them(client: TestClient) -> None:
    document = get_json(client, "/ogc/api")
    parameters = document["components"]["parameters"]
    operation = document["paths"]["/collections/organisations/items"]["get"]
    declared = [p["$ref"].rsplit("/", 1)[-1] for p in operation["parameters"]]
    assert declared == ["f", "limit", "after", "bbox", "datetime", "updated_since", "q",
                        "category", "region", "departement", "legal_form"]
    for name in declared:
        assert (parameters[name]["in"], parameters[name]["style"],
                parameters[name]["explode"]) == ("query", "form", False)
    assert parameters["limit"]["schema"]["maximum"] == 5000
    assert "mediation-numerique" in parameters["category"]["schema"]["items"]["enum"]
    assert "2A" in parameters["departement"]["schema"]["items"]["enum"]
    assert "cooperative" in parameters["legal_form"]["schema"]["items"]["enum"]


def test_the_definition_has_an_html_page(client: TestClient) -> None:
    response = client.get("/ogc/api", params={"f": "html"})
    assert (response.status_code, response.headers["content-type"]) == (
        200, "text/html; charset=utf-8")
    assert f"<h2>GET {BASE}/ogc/collections/organisations/items</h2>" in response.text


def test_ogc_routes_stay_out_of_the_api_document(client: TestClient) -> None:
    paths = get_json(client, "/openapi.json")["paths"]
    assert not [path for path in paths if path.startswith("/ogc")]


@pytest.mark.sqlite_only("reads SQLite's EXPLAIN QUERY PLAN")
def test_the_collection_is_described_without_scanning_a_table(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    statements: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", remember)
    try:
        get_json(client, "/ogc/collections/organisations")
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert statements
    with engine.connect() as connection:
        plans = [row[3] for statement, parameters in statements for row in
                 connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    assert plans and not [plan for plan in plans if plan.startswith("SCAN organisation")], plans


@pytest.mark.parametrize("path", ["/ogc", "/ogc/conformance", "/ogc/api", "/ogc/collections",
                                  "/ogc/collections/organisations", f"{ITEMS}/1"])
@pytest.mark.parametrize("f", ["json", "html"])
def test_head_gives_the_length_of_what_get_sends(client: TestClient, path: str, f: str) -> None:
    identity = {"Accept-Encoding": "identity"}
    got = client.get(path, params={"f": f}, headers=identity)
    head = client.head(path, params={"f": f}, headers=identity)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(got.content)) != "0"
    assert head.headers["content-type"] == got.headers["content-type"]


def test_head_of_the_streamed_items_has_their_etag_and_no_body(client: TestClient) -> None:
    got = client.get(ITEMS, params={"limit": 2})
    head = client.head(ITEMS, params={"limit": 2})
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["content-type"] == got.headers["content-type"] == "application/geo+json"
