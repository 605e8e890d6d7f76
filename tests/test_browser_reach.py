"""The map's reach in a real headless Chromium: embeds, the offline basemap, the choropleth.

Real uvicorn servers on loopback ports: the app, and a second one on another origin that
plays a network's website framing the map.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser import desktop_chromium, free_port, running_server
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import BrowserContext, FrameLocator, Page, expect

from app.config import Settings
from app.main import create_app

pytestmark = pytest.mark.browser

FIXTURE = Path(__file__).parent / "fixtures" / "embed_directory.csv"
IN_PAYS_DE_LA_LOIRE_NUMERIQUE = ["Médiathèque numérique de Nantes", "Point numérique d'Angers"]
EMBED_QUERY = "category=mediation-numerique&region=52"
LIST_NAMES = "#atlas-results .atlas-item-name"
# The requests that carry the map's filters (the reference lists and polygons do not).
FILTERED_API = ("/api/clusters", "/api/organisations", "/api/facets", "/api/choropleth")


@contextmanager
def serving(folder: Path, tiles_url: str) -> Iterator[str]:
    """The app over the embed fixture with these tiles; yield its base URL."""
    settings = Settings(
        _env_file=None, database_url=f"sqlite:///{folder / 'atlas.sqlite3'}",
        default_directory=FIXTURE, tiles_url=tiles_url, geocoder_url=None,
        geocoder_cache_path=folder / "geocode-cache.sqlite3")
    with running_server(create_app(settings), free_port()) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with no tile server (ESS_TILES_URL empty)."""
    with serving(tmp_path_factory.mktemp("offline"), "") as base_url:
        yield base_url


class Website:
    """Another origin's pages (path -> HTML), set by the tests."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.app = FastAPI()
        self.app.add_api_route("/{name}", self.page, response_class=HTMLResponse)

    def page(self, name: str) -> HTMLResponse:
        """The page a test put there (404 for anything else, such as the favicon)."""
        if name not in self.pages:
            return HTMLResponse("", status_code=404)
        return HTMLResponse(self.pages[name])


@pytest.fixture(scope="module")
def website() -> Iterator[tuple[Website, str]]:
    """A second loopback server: 'localhost' and another port, so another origin."""
    site = Website()
    port = free_port()
    with running_server(_with_settings(site.app), port):
        yield site, f"http://localhost:{port}"


def _with_settings(app: FastAPI) -> FastAPI:
    """running_server reads the app's settings (for its timeouts)."""
    app.state.settings = Settings(_env_file=None)  # type: ignore[call-arg]
    return app


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with desktop_chromium(tmp_path_factory.mktemp("chromium-reach")) as context:
        yield context


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    yield page
    page.close()


def api(base_url: str, path: str) -> Any:
    with urlopen(base_url + path) as response:
        return json.load(response)


def host_page(iframe: str) -> str:
    """A network's page holding the map."""
    return ('<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Réseau</title>'
            f"</head><body><h1>Nos membres</h1>{iframe}</body></html>")


def expect_only_locked_structures(frame: FrameLocator) -> None:
    expect(frame.locator("#atlas-status")).to_have_text("2 structures dans la vue, 2 en France")
    expect(frame.locator(LIST_NAMES)).to_have_text(IN_PAYS_DE_LA_LOIRE_NUMERIQUE)


def test_embed_in_another_origin_shows_only_its_structures_and_cannot_widen(
        offline: str, website: tuple[Website, str], page: Page) -> None:
    site, origin = website
    site.pages["reseau"] = host_page(
        f'<iframe id="atlas" src="{offline}/embed?{EMBED_QUERY}" width="1100" height="700" '
        'title="Carte"></iframe>')
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{origin}/reseau")
    frame = page.frame_locator("#atlas")
    expect_only_locked_structures(frame)
    for hidden in (".atlas-header", "[data-filter=category]", "[data-filter=area]"):
        expect(frame.locator(hidden)).to_be_hidden()
    # The permalink cannot widen them either: another sector and région are ignored.
    page.goto(f"{origin}/reseau")
    frame.locator("body").evaluate(
        "() => { window.location.hash = 'secteurs=reemploi,alimentation&zone=region:32'; }")
    expect_only_locked_structures(frame)
    filtered = [urlsplit(url) for url in requests if urlsplit(url).path in FILTERED_API]
    assert filtered
    for url in filtered:
        params = parse_qs(url.query)
        assert params["category"] == ["mediation-numerique"]
        assert params["region"] == ["52"]


def test_the_generators_code_pasted_into_a_page_renders(
        offline: str, website: tuple[Website, str], page: Page) -> None:
    site, origin = website
    page.goto(f"{offline}/embed/new")
    page.get_by_label("Médiation et inclusion numérique").check()
    page.get_by_label("Région ou département").select_option("region=52")
    code = page.get_by_label("Code HTML de la carte")
    expect(code).to_have_value(
        f'<iframe src="{offline}/embed?category=mediation-numerique&amp;region=52&amp;lang=fr" '
        'width="100%" height="600" style="border:0" loading="lazy" '
        "title=\"Atlas de l'ESS\"></iframe>")
    expect_only_locked_structures(page.frame_locator("#atlas-embed-preview iframe"))
    site.pages["colle"] = host_page(code.input_value())
    page.goto(f"{origin}/colle")
    expect_only_locked_structures(page.frame_locator("iframe"))


def test_without_tiles_france_and_its_departements_are_drawn_from_the_app_alone(
        offline: str, page: Page) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{offline}/")
    expect(page.locator("path.atlas-basemap-departements")).to_have_count(101)
    expect(page.locator("path.atlas-basemap-regions")).to_have_count(18)
    expect(page.locator("path.atlas-basemap-land")).to_have_count(1)
    expect(page.get_by_role("status").filter(has_text="Fond de carte hors ligne")).to_be_visible()
    expect(page.locator(LIST_NAMES)).to_have_count(5)
    assert [url for url in requests if not url.startswith(offline + "/")] == []


def test_failing_tiles_give_way_to_the_offline_basemap(
        tmp_path: Path, page: Page) -> None:
    tiles_origin = f"http://localhost:{free_port()}"
    with serving(tmp_path, f"{tiles_origin}/tiles/{{z}}/{{x}}/{{y}}.png") as base_url:
        page.route(f"{tiles_origin}/**", lambda route: route.abort("connectionrefused"))
        page.goto(f"{base_url}/")
        expect(page.locator("path.atlas-basemap-departements")).to_have_count(101)
        expect(page.get_by_text("Fond de carte hors ligne")).to_be_visible()
        expect(page.locator(".leaflet-tile-pane img")).to_have_count(0)


def choropleth_counts(page: Page) -> dict[str, int]:
    """The counts of the choropleth's table of areas, by area name."""
    rows = page.locator("#atlas-choropleth-areas tbody tr")
    return {row.locator("th").inner_text(): int(row.locator("td").first.inner_text())
            for row in rows.all()}


def test_choropleth_shows_the_counts_of_api_regions_for_the_current_filters(
        offline: str, page: Page) -> None:
    page.goto(f"{offline}/")
    expect(page.locator(LIST_NAMES)).to_have_count(5)
    page.get_by_label("Forme juridique").select_option("association")
    page.get_by_role("button", name="Carte par territoire").click()
    page.get_by_text("Tableau des territoires").click()
    regions = api(offline, "/api/regions?legal_form=association")
    wanted = {region["name"]: region["count"] for region in regions}
    expect(page.locator("#atlas-choropleth-areas tbody tr")).to_have_count(18)
    expect(page.locator("#atlas-choropleth-areas tbody tr[data-code='52'] td").first
           ).to_have_text(str(wanted["Pays de la Loire"]))
    assert choropleth_counts(page) == wanted
    expect(page.locator(".atlas-choropleth-legend li")).not_to_have_count(0)
    page.get_by_label("Territoires").select_option("departement")
    expect(page.locator("#atlas-choropleth-areas tbody tr")).to_have_count(101)
    by_departement = {d["name"]: d["count"] for region in regions for d in region["departements"]}
    expect(page.locator("#atlas-choropleth-areas tbody tr[data-code='44'] td").first
           ).to_have_text(str(by_departement["Loire-Atlantique"]))
    assert choropleth_counts(page) == by_departement


def test_clicking_an_area_of_the_choropleth_filters_the_map_on_it(
        offline: str, page: Page) -> None:
    page.goto(f"{offline}/")
    expect(page.locator(LIST_NAMES)).to_have_count(5)
    page.get_by_role("button", name="Carte par territoire").click()
    page.get_by_text("Tableau des territoires").click()
    page.locator("#atlas-choropleth-areas").get_by_role("button", name="Pays de la Loire").click()
    expect(page.get_by_label("Région ou département")).to_have_value("region:52")
    expect(page.locator("#atlas-choropleth-areas tbody tr[data-code='52'] td").first
           ).to_have_text("3")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_axe_finds_no_serious_violation_on_the_embed(offline: str, page: Page,
                                                     language: str) -> None:
    page.goto(f"{offline}/embed?{EMBED_QUERY}&lang={language}")
    expect(page.locator(LIST_NAMES)).to_have_count(2)
    results = Axe().run(page)
    serious = [f"{v['id']}: {v['help']}" for v in results.response["violations"]
               if v["impact"] in {"serious", "critical"}]
    assert serious == []


def test_offline_basemap_names_the_communes_with_structures_at_high_zoom(
        offline: str, page: Page) -> None:
    page.goto(f"{offline}/")
    expect(page.locator("path.atlas-basemap-departements")).to_have_count(101)
    expect(page.locator(".atlas-basemap-name")).to_have_count(0)
    page.evaluate("() => window.atlas.map.setView([47.3, -1.1], 10)")
    expect(page.locator(".atlas-basemap-name")).to_have_text(["Nantes", "Angers", "Rezé"])
