"""The API documentation (app/apidocs): Swagger UI from local files, under a 'self' CSP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from browser import free_port, launch_chromium, running_server
from fastapi.testclient import TestClient
from playwright.sync_api import ConsoleMessage, expect, sync_playwright

from app.config import Settings
from app.main import create_app

URL_ATTRIBUTE = re.compile(r'(?:src|href)="([^"]*)"')


def test_docs_reference_only_local_urls(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    urls = URL_ATTRIBUTE.findall(response.text)
    assert len(urls) == 4
    for url in urls:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) == ("", "") and parts.path.startswith("/static/")
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "http" not in csp
    assert "script-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp


def test_redoc_and_the_cdn_pages_are_gone(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404
    assert "cdn" not in client.get("/docs").text.lower()


@pytest.fixture
def docs_server(settings: Settings) -> Iterator[str]:
    port = free_port()
    with running_server(create_app(settings), port) as base_url:
        yield base_url


@pytest.mark.browser
def test_chromium_renders_the_docs_with_no_external_request(
    docs_server: str, tmp_path: Path
) -> None:
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        context = launch_chromium(playwright, tmp_path / "profile")
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(message.text)

        page.on("console", on_console)
        page.add_init_script(
            "window.__cspViolations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        page.goto(docs_server + "/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("ess-atlas")
        expect(page.locator(".opblock-summary-path").first).to_be_visible()
        paths = page.locator(".opblock-summary-path").all_text_contents()
        violations = page.evaluate("window.__cspViolations")
        context.close()
    assert {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in requests} == {docs_server}
    assert "/api/organisations" in [p.replace("\u200b", "") for p in paths]
    assert violations == []
    assert errors == []
    assert httpx.get(docs_server + "/openapi.json").status_code == 200
