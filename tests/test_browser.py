"""The map page in a real headless Chromium, on a real uvicorn server, under its CSP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest
from browser import free_port, launch_chromium, running_server, solid_png
from playwright.sync_api import (
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Geolocation,
    Page,
    Request,
    expect,
    sync_playwright,
)

from app.config import Settings
from app.main import create_app

pytestmark = pytest.mark.browser

FIXTURE = Path(__file__).parent / "fixtures" / "map_directory.csv"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
IN_METROPOLITAN_FRANCE = {
    "Atelier vélo solidaire de Nantes",
    "Coopérative d'habitants de l'île de Nantes",
    "Épicerie solidaire de la Croix-Rousse",
    "Jardin partagé de Bellevue",
    "Repair café de Wazemmes",
    "Ressourcerie des Pentes",
    "Village vertical",
    HOSTILE_NAME,
}
ONLY_REEMPLOI = {"Repair café de Wazemmes", "Ressourcerie des Pentes"}
LYON: Geolocation = {"latitude": 45.7640, "longitude": 4.8357}
NEAR_LYON = {
    "Épicerie solidaire de la Croix-Rousse",
    "Ressourcerie des Pentes",
    "Village vertical",
    HOSTILE_NAME,
}
IN_NANTES = {
    "Atelier vélo solidaire de Nantes",
    "Coopérative d'habitants de l'île de Nantes",
    "Jardin partagé de Bellevue",
}
TILE_PNG = solid_png(226, 232, 236)
MARKERS = ".atlas-map path.leaflet-interactive"
LIST_NAMES = "#atlas-results .atlas-item-name"


@dataclass
class Server:
    """The running app and the origins it answers on."""

    base_url: str
    tiles_origin: str


@dataclass
class PageLog:
    """Everything a page did that a test must check: requests, errors, dialogs."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    # A different origin than the page (localhost vs 127.0.0.1) so that the CSP img-src is
    # exercised; the browser test answers these tile requests itself.
    tiles_origin = f"http://localhost:{port}"
    directory = tmp_path_factory.mktemp("browser-db")
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{directory / 'atlas.sqlite3'}",
        default_directory=FIXTURE,
        tiles_url=f"{tiles_origin}/tiles/{{z}}/{{x}}/{{y}}.png",
        geocoder_url=None,
        geocoder_cache_path=directory / "geocode-cache.sqlite3",
    )
    with running_server(create_app(settings), port) as base_url:
        yield Server(base_url=base_url, tiles_origin=tiles_origin)


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with sync_playwright() as playwright:
        profile = tmp_path_factory.mktemp("chromium-profile")
        context = launch_chromium(
            playwright, profile, viewport={"width": 1280, "height": 800}, locale="fr-FR"
        )
        yield context
        context.close()


def _record(page: Page, log: PageLog) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            log.console_errors.append(f"{message.text} @ {message.location['url']}")

    def on_request(request: Request) -> None:
        log.requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    page.on("request", on_request)
    def on_dialog(dialog: Dialog) -> None:
        log.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)


@pytest.fixture
def page_and_log(server: Server, context: BrowserContext) -> Iterator[tuple[Page, PageLog]]:
    page = context.new_page()
    log = PageLog()
    _record(page, log)
    page.route(f"{server.tiles_origin}/tiles/**", lambda route: route.fulfill(
        status=200, content_type="image/png", body=TILE_PNG
    ))
    page.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    yield page, log
    page.close()


def open_map(page: Page, server: Server, expected_markers: int) -> None:
    page.goto(server.base_url + "/")
    expect(page.locator(MARKERS)).to_have_count(expected_markers)


def api(server: Server, path: str) -> Any:
    with urlopen(server.base_url + path) as response:
        return json.load(response)


def list_names(page: Page) -> list[str]:
    return page.locator(LIST_NAMES).all_text_contents()


def assert_clean(
    page: Page, log: PageLog, server: Server, allowed_errors: tuple[str, ...] = ()
) -> None:
    """Only the app (and the tile server) was asked for anything; nothing failed."""
    origins = {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in log.requests}
    assert origins <= {server.base_url, server.tiles_origin}
    tiles = [url for url in log.requests if url.startswith(server.tiles_origin)]
    assert all(re.fullmatch(rf"{server.tiles_origin}/tiles/\d+/\d+/\d+\.png", u) for u in tiles)
    assert page.evaluate("window.__cspViolations") == []
    assert [e for e in log.console_errors if e not in allowed_errors] == []
    assert log.page_errors == []
    assert log.dialogs == []


def test_every_structure_in_view_is_a_marker_and_a_list_item(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    expect(page.locator("#atlas-status")).to_have_text("8 structures")
    assert sorted(list_names(page)) == sorted(IN_METROPOLITAN_FRANCE)
    api_requests = [url for url in log.requests if "/api/organisations?" in url]
    assert len(api_requests) == 1
    assert "limit=5000" in api_requests[0] and "bbox=" in api_requests[0]
    assert_clean(page, log, server)


def test_legend_names_the_sectors_of_the_dots_in_view(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    rows = page.locator(".atlas-legend-list li")
    expect(rows).to_have_count(3)
    assert rows.all_inner_texts() == [
        "Réemploi et reconditionnement\n3",
        "Alimentation\n2",
        "Habitat et logement\n3",
    ]
    colours = rows.locator(".atlas-swatch").evaluate_all(
        "swatches => swatches.map(s => getComputedStyle(s).backgroundColor)"
    )
    assert colours == ["rgb(86, 180, 233)", "rgb(153, 153, 51)", "rgb(136, 34, 85)"]
    assert_clean(page, log, server)


def test_sector_filter_lists_every_sector_with_its_count(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    categories = api(server, "/api/categories")
    page.get_by_text("Secteurs (tous)").click()
    expect(page.locator("#atlas-sector-groups input[type=checkbox]:checked")).to_have_count(
        len(categories)
    )
    label = page.locator("label[for='atlas-sector-reemploi']")
    expect(label).to_have_text("Réemploi et reconditionnement3 structures")
    assert_clean(page, log, server)


def test_markers_are_coloured_by_their_first_sector(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    fills = page.locator(MARKERS).evaluate_all("paths => paths.map(p => p.getAttribute('fill'))")
    assert sorted(fills) == sorted(["#999933"] * 2 + ["#56B4E9"] * 3 + ["#882255"] * 3)
    assert_clean(page, log, server)


def test_unticking_a_sector_hides_its_structures_on_the_map_and_in_the_list(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    sectors = len(api(server, "/api/categories"))
    page.get_by_text("Secteurs (tous)").click()
    page.get_by_label(re.compile("^Réemploi et reconditionnement")).uncheck()
    expect(page.locator("#atlas-sector-summary")).to_have_text(f"({sectors - 1} sur {sectors})")
    remaining = IN_METROPOLITAN_FRANCE - ONLY_REEMPLOI
    expect(page.locator(MARKERS)).to_have_count(len(remaining))
    expect(page.locator("#atlas-status")).to_have_text("6 structures")
    assert sorted(list_names(page)) == sorted(remaining)
    assert any("category=" in url for url in log.requests)
    assert_clean(page, log, server)


def test_unticking_every_sector_empties_the_map(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    page.get_by_text("Secteurs (tous)").click()
    page.get_by_role("button", name="Tout décocher").click()
    expect(page.locator(MARKERS)).to_have_count(0)
    expect(page.locator("#atlas-status")).to_have_text(
        "Aucun secteur sélectionné : cochez au moins un secteur."
    )
    page.get_by_role("button", name="Tout cocher").click()
    expect(page.locator(MARKERS)).to_have_count(len(IN_METROPOLITAN_FRANCE))
    assert_clean(page, log, server)


def test_choosing_a_departement_shows_only_its_structures(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    page.get_by_label("Région ou département").select_option("departement:69")
    expect(page.locator(MARKERS)).to_have_count(len(NEAR_LYON))
    expect(page.locator("#atlas-status")).to_have_text("4 structures")
    assert sorted(list_names(page)) == sorted(NEAR_LYON)
    assert page.evaluate("document.querySelector('[data-atlas-map]').id") != ""
    assert_clean(page, log, server)


def test_keyword_filters_names_and_towns(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    page.get_by_label("Nom ou mot-clé").fill("Nantes")
    expect(page.locator("#atlas-status")).to_have_text("3 structures pour « Nantes »")
    expect(page.locator(MARKERS)).to_have_count(len(IN_NANTES))
    assert sorted(list_names(page)) == sorted(IN_NANTES)
    assert_clean(page, log, server)


def test_a_keyword_under_three_characters_filters_nothing_and_says_why(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    page.get_by_label("Nom ou mot-clé").fill("Na")
    expect(page.locator("#atlas-status")).to_have_text(
        f"{len(IN_METROPOLITAN_FRANCE)} structures (mot-clé : 3 caractères au moins)")
    expect(page.locator(MARKERS)).to_have_count(len(IN_METROPOLITAN_FRANCE))
    assert_clean(page, log, server)


def test_place_search_finds_the_town_even_without_a_geocoder(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    page.get_by_label("Aller à une ville ou une adresse").fill("Villeurbanne")
    page.get_by_role("button", name="Aller", exact=True).click()
    expect(page.locator(LIST_NAMES, has_text="Village vertical")).to_have_count(1)
    geocoder_missing = (
        "Failed to load resource: the server responded with a status of 404 (Not Found)"
        f" @ {server.base_url}/api/geocode?q=Villeurbanne"
    )
    assert_clean(page, log, server, allowed_errors=(geocoder_missing,))


def test_hostile_name_is_shown_as_text_and_runs_nothing(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    page.locator(".atlas-item", has_text=HOSTILE_NAME).click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup.locator(".atlas-card-title")).to_have_text(HOSTILE_NAME)
    expect(popup.locator(".atlas-card-description")).to_contain_text("<script>alert(3)</script>")
    expect(popup.locator(".atlas-card-address")).to_contain_text("8 rue <b>Marignan</b>")
    assert page.locator("img[src='x'], .leaflet-popup img, #atlas-results img, b").count() == 0
    assert page.locator("script:not([src])").count() == 1
    assert_clean(page, log, server)


def test_list_item_opens_its_popup_with_the_keyboard_and_escape_returns(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    item = page.locator(".atlas-item", has_text="Atelier vélo solidaire de Nantes")
    item.focus()
    page.keyboard.press("Enter")
    card = page.locator(".leaflet-popup-content .atlas-card")
    expect(card.locator(".atlas-card-title")).to_have_text("Atelier vélo solidaire de Nantes")
    expect(card).to_be_focused()
    link = card.get_by_role("link", name=re.compile(r"^atelier-velo\.example\.org"))
    expect(link).to_have_attribute("href", "http://atelier-velo.example.org/nantes")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    page.keyboard.press("Escape")
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    expect(page.locator(".atlas-item", has_text="Atelier vélo solidaire de Nantes")).to_be_focused()
    assert_clean(page, log, server)


def test_clicking_a_marker_opens_its_card(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    page.locator(".atlas-item", has_text="Repair café de Wazemmes").click()
    expect(page.locator(".atlas-card-title")).to_have_text("Repair café de Wazemmes")
    page.locator(".leaflet-popup-close-button").click()
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    page.locator(MARKERS).first.click(force=True)
    expect(page.locator(".leaflet-popup .atlas-card-title")).to_have_count(1)
    assert_clean(page, log, server)


def test_near_me_lists_the_nearest_structures_first(
    server: Server, context: BrowserContext, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    context.grant_permissions(["geolocation"], origin=server.base_url)
    context.set_geolocation(LYON)
    open_map(page, server, expected_markers=len(IN_METROPOLITAN_FRANCE))
    page.get_by_role("button", name="Autour de moi").click()
    expect(page.locator("#atlas-status")).to_have_text("4 structures à moins de 10 km de vous")
    expect(page.locator(MARKERS)).to_have_count(len(NEAR_LYON))
    nearby_url = (
        f"/api/nearby?lat={LYON['latitude']:.6f}&lon={LYON['longitude']:.6f}"
        "&radius_km=10&limit=200"
    )
    nearest_first = [f["properties"]["name"] for f in api(server, nearby_url)["features"]]
    assert list_names(page) == nearest_first
    assert set(nearest_first) == NEAR_LYON
    page.get_by_role("button", name="Revenir à la zone de la carte").click()
    expect(page.locator("#atlas-status")).not_to_contain_text("de vous")
    assert_clean(page, log, server)


def test_on_a_phone_the_list_is_below_the_map(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.base_url + "/")
    expect(page.locator(LIST_NAMES).first).to_be_attached()
    map_box = page.locator(".atlas-map").bounding_box()
    list_box = page.locator("#atlas-results").bounding_box()
    assert map_box is not None and list_box is not None
    assert map_box["width"] == page.evaluate("document.documentElement.clientWidth")
    assert list_box["y"] >= map_box["y"] + map_box["height"]
    assert_clean(page, log, server)
