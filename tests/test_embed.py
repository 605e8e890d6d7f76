"""/embed and /embed/new over HTTP: locked filters, frame-ancestors, the generator page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.mapview.embed_origins import parse_embed_origins
from app.mapview.page import atlas_asset_url

SettingsFactory = Callable[..., Settings]


def directives(response_csp: str) -> dict[str, str]:
    """A CSP header as {directive: its sources}."""
    parts = (part.strip().split(" ", 1) for part in response_csp.split(";"))
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def test_the_generator_lists_every_sector_and_may_not_be_framed(client: TestClient) -> None:
    response = client.get("/embed/new")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == "'none'"
    assert policy["frame-src"] == "'self'"
    sectors = [c["slug"] for c in client.get("/api/categories").json()]
    for slug in sectors:
        assert f'name="category" value="{slug}"' in response.text
    assert '<option value="region=52">Pays de la Loire</option>' in response.text
    assert f'src="{atlas_asset_url("js/embed-new.js")}"' in response.text


def test_the_generator_takes_no_parameter(client: TestClient) -> None:
    response = client.get("/embed/new", params={"category": "habitat"})
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "category"


@pytest.mark.parametrize(("text", "origins"), [
    ("*", ("*",)),
    ("https://reseau.example.org", ("https://reseau.example.org",)),
    (" https://a.example.org,http://localhost:8080  https://*.example.net ",
     ("https://a.example.org", "http://localhost:8080", "https://*.example.net")),
])
def test_embed_origins_are_read_from_a_list(text: str, origins: tuple[str, ...]) -> None:
    assert parse_embed_origins(text) == origins


@pytest.mark.parametrize(("text", "message"), [
    ("", r"must be \* or one or more origins"),
    ("* https://a.example.org", "list no origin beside it"),
    ("example.org", "'example.org' is not an origin"),
    ("https://a.example.org/page", "is not an origin"),
    ("https://a.example.org;script-src", "is not an origin"),
])
def test_a_wrong_embed_origin_list_is_refused_when_settings_load(
        make_settings: SettingsFactory, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_settings(embed_allowed_origins=text)


def test_embed_origins_default_to_any_site(settings: Settings) -> None:
    assert settings.embed_origins == ("*",)


def page_config(html: str) -> dict[str, Any]:
    """The JSON configuration the page gives its script."""
    start = html.index('<script type="application/json" id="atlas-config">')
    body = html[html.index(">", start) + 1:html.index("</script>", start)]
    config: dict[str, Any] = json.loads(body)
    return config


def test_embed_locks_the_url_filters_and_may_be_framed_by_anyone(client: TestClient) -> None:
    response = client.get("/embed", params=[("category", "mediation-numerique"),
                                            ("category", "reemploi"), ("region", "52")])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert directives(response.headers["content-security-policy"])["frame-ancestors"] == "*"
    config = page_config(response.text)
    assert config["lockedFilters"] == {"category": ["mediation-numerique", "reemploi"],
                                       "region": ["52"]}
    assert '<header class="atlas-header" hidden>' in response.text
    main = client.get("/")
    assert directives(main.headers["content-security-policy"])["frame-ancestors"] == "'none'"
    assert '<header class="atlas-header">' in main.text
    assert page_config(main.text)["lockedFilters"] == {}


def test_embed_speaks_the_language_asked(client: TestClient) -> None:
    response = client.get("/embed", params={"legal_form": "association", "lang": "en"})
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert page_config(response.text)["lockedFilters"] == {"legal_form": ["association"]}


def test_embed_frame_ancestors_come_from_the_setting(make_settings: SettingsFactory) -> None:
    settings = make_settings(embed_allowed_origins="https://reseau.example.org, http://localhost:8080")
    with TestClient(create_app(settings)) as client:
        embed = client.get("/embed")
        main = client.get("/")
    assert directives(embed.headers["content-security-policy"])["frame-ancestors"] == (
        "https://reseau.example.org http://localhost:8080")
    assert directives(main.headers["content-security-policy"])["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(("params", "parameter"), [
    ({"category": "inconnu"}, "category"), ({"region": "99"}, "region"),
    ({"q": "ab"}, "q"), ({"bbox": "0,0,1,1"}, "bbox"), ({"lang": "de"}, "lang")])
def test_embed_refuses_what_it_cannot_lock(client: TestClient, params: dict[str, str],
                                           parameter: str) -> None:
    response = client.get("/embed", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["parameter"] == parameter
