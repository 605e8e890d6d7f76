"""Links (app/links.py): from ESS_PUBLIC_URL or relative, never from the Host header."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

SettingsFactory = Callable[..., Settings]


def next_href(client: TestClient, **headers: str) -> str:
    response = client.get("/api/organisations?region=11&limit=1", headers=headers)
    assert response.status_code == 200
    (link,) = response.json()["links"]
    assert link["rel"] == "next"
    href: str = link["href"]
    return href


def test_next_link_is_relative_by_default(client: TestClient) -> None:
    href = next_href(client)
    parts = urlsplit(href)
    assert (parts.scheme, parts.netloc, parts.path) == ("", "", "/api/organisations")
    query = parse_qs(parts.query)
    assert (query["region"], query["limit"], sorted(query)) == (
        ["11"], ["1"], ["after", "limit", "region"]
    )


def test_a_forged_host_never_appears_in_links(client: TestClient) -> None:
    href = next_href(client, host="evil.example", x_forwarded_host="evil.example")
    assert "evil" not in href
    assert href.startswith("/api/organisations?")


def test_next_link_uses_the_configured_public_url(make_settings: SettingsFactory) -> None:
    settings = make_settings(public_url="https://atlas.example.org/ess/")
    with TestClient(create_app(settings)) as client:
        href = next_href(client, host="evil.example")
    assert href.startswith("https://atlas.example.org/ess/api/organisations?")
    assert "evil" not in href


@pytest.mark.parametrize(
    "value", ["atlas.example.org", "ftp://atlas.example.org", "https://x.org/?a=1",
              "https://user@x.org", "https:///path"]
)
def test_a_public_url_that_is_not_a_base_url_is_refused(
    make_settings: SettingsFactory, value: str
) -> None:
    with pytest.raises(ValueError, match="public_url"):
        make_settings(public_url=value)
