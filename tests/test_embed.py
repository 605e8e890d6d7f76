"""/embed and /embed/new over HTTP: locked filters, frame-ancestors, the generator page."""

from __future__ import annotations

import pytest
from conftest import SettingsFactory
from fastapi.testclient import TestClient

from app.config import Settings
from app.mapview.embed_origins import frame_ancestors, parse_embed_origins


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
    assert "embed-new.js?v=" in response.text


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
    assert frame_ancestors(origins) == "frame-ancestors " + " ".join(origins)


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
