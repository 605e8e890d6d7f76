"""The map page in a real headless Chromium, on a real uvicorn server, under its CSP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser import desktop_context, free_port, running_server, solid_png
from playwright.sync_api import (
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Geolocation,
    Page,
    Playwright,
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
LIST_NAMES = "#atlas-results .atlas-item-name"
POINT_NAMES = "#atlas-marker-names li"
# The page keeps a position to 3 decimals (about 100 m): what a shared link may say.
LYON_SHARED = (round(LYON["latitude"], 3), round(LYON["longitude"], 3))


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


@contextmanager
def serving(folder: Path, directory: Path | None) -> Iterator[Server]:
    """The app over `directory` (None: the default one) in `folder`, tiles on another origin."""
    port = free_port()
    # A different origin than the page (localhost vs 127.0.0.1) so that the CSP img-src is
    # exercised; the browser test answers these tile requests itself.
    tiles_origin = f"http://localhost:{port}"
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{folder / 'atlas.sqlite3'}",
        default_directory=directory,
        tiles_url=f"{tiles_origin}/tiles/{{z}}/{{x}}/{{y}}.png",
        geocoder_url=None,
        geocoder_cache_path=folder / "geocode-cache.sqlite3",
    )
    with running_server(create_app(settings), port) as base_url:
        yield Server(base_url=base_url, tiles_origin=tiles_origin)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("browser-db"), FIXTURE) as running:
        yield running


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """One Playwright for the module's browsers (a second one cannot run beside it)."""
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def context(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserContext]:
    """A French-speaking browser."""
    context = desktop_context(playwright, tmp_path_factory.mktemp("chromium-profile"), "fr-FR")
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
    yield from logged_page(server, context)


def logged_page(server: Server, context: BrowserContext) -> Iterator[tuple[Page, PageLog]]:
    """A page of `context` that records what it does, its tiles answered locally."""
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


FRANCE_STATUS = "8 structures dans la vue, 9 en France"
WAZEMMES = (50.6280, 3.0480)
ATELIER_VELO = (47.2180, -1.5530)
MAP = "[data-atlas-map]"
CARD = "#atlas-card"


def open_map(page: Page, server: Server, fragment: str = "",
             status: str | re.Pattern[str] = FRANCE_STATUS) -> None:
    page.goto(server.base_url + "/" + fragment)
    expect(page.locator("#atlas-status")).to_have_text(status)


def shown_markers(page: Page) -> int:
    return int(page.locator(MAP).get_attribute("data-markers") or "-1")


def set_view(page: Page, lat: float, lon: float, zoom: int) -> None:
    page.evaluate("([lat, lon, zoom]) => window.atlas.map"
                  ".setView([lat, lon], zoom)", [lat, lon, zoom])


def screen_point(page: Page, lat: float, lon: float) -> tuple[float, float]:
    """Where a position is on the screen, from Leaflet itself."""
    point = page.evaluate(
        "([lat, lon]) => { const map = window.atlas.map;"
        " const p = map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }", [lat, lon])
    box = page.locator(MAP).bounding_box()
    assert box is not None
    return box["x"] + point[0], box["y"] + point[1]


def dot_colour(page: Page, lat: float, lon: float) -> str:
    """The colour the canvas has at a position (the dot drawn there)."""
    colour: str = page.evaluate(
        "([lat, lon]) => { const el = document.querySelector('[data-atlas-map]');"
        " const map = window.atlas.map; const canvas = el.querySelector('canvas');"
        " const p = map.latLngToContainerPoint([lat, lon]);"
        " const r = canvas.getBoundingClientRect(), m = el.getBoundingClientRect();"
        " const s = canvas.width / r.width;"
        " const d = canvas.getContext('2d').getImageData((m.left + p.x - r.left) * s,"
        " (m.top + p.y - r.top) * s, 1, 1).data;"
        " return '#' + [d[0], d[1], d[2]].map(v => v.toString(16).padStart(2, '0')).join(''); }",
        [lat, lon])
    return colour


def api(server: Server, path: str) -> Any:
    with urlopen(server.base_url + path) as response:
        return json.load(response)


def structure_named(server: Server, name: str) -> Any:
    """The API's feature of the fixture's structure called `name`."""
    return next(f for f in api(server, "/api/organisations")["features"]
                if f["properties"]["name"] == name)


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



def test_france_view_shows_groups_the_exact_totals_and_the_list(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    assert api(server, "/api/organisations?limit=1")["numberMatched"] == 9
    assert sorted(list_names(page)) == sorted(IN_METROPOLITAN_FRANCE)
    # Lyon's four and Nantes' three are groups at this zoom, Lille's one a dot.
    assert shown_markers(page) == 3
    cluster_requests = [url for url in log.requests if "/api/clusters?" in url]
    assert len(cluster_requests) == 1 and "zoom=6&" in cluster_requests[0]
    assert_clean(page, log, server)


def test_legend_counts_the_structures_in_view_by_sector(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    rows = page.locator(".atlas-legend-list li")
    expect(rows).to_have_count(3)
    assert rows.all_inner_texts() == [
        "Réemploi et reconditionnement\n3",
        "Alimentation\n3",
        "Habitat et logement\n3",
    ]
    assert_clean(page, log, server)


def test_sector_counts_follow_the_view(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    page.get_by_text("Secteurs (tous)").click()
    label = page.locator("label[for='atlas-sector-reemploi']")
    expect(label).to_have_text("Réemploi et reconditionnement3 structures")
    set_view(page, 47.21, -1.55, 12)
    expect(label).to_have_text("Réemploi et reconditionnement1 structure")
    assert any("/api/facets?bbox=" in url for url in log.requests)
    assert_clean(page, log, server)


def test_a_group_tick_selects_its_whole_group(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    page.get_by_text("Secteurs (tous)").click()
    page.get_by_role("button", name="Tout décocher").click()
    expect(page.locator("#atlas-status")).to_have_text(
        "Aucun secteur sélectionné : cochez au moins un secteur.")
    group = page.locator(".atlas-sector-group", has=page.locator("#atlas-sector-reemploi"))
    group.locator(".atlas-group-box").check()
    members = group.locator("input[name=category]")
    assert members.count() >= 1
    expect(group.locator("input[name=category]:checked")).to_have_count(members.count())
    expect(page.locator("#atlas-status")).to_contain_text("dans la vue")
    assert_clean(page, log, server)


def test_a_dot_takes_the_colour_of_the_sector_that_matched(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, "#carte=16/47.2180/-1.5530",
             re.compile(r"^1 structure dans la vue, 9 en France$"))
    colours = {c["slug"]: c["color"].lower() for c in api(server, "/api/categories")}
    expect(page.locator(MAP)).to_have_attribute("data-markers", "1")
    assert dot_colour(page, *ATELIER_VELO) == colours["reemploi"]
    page.get_by_text("Secteurs (tous)").click()
    page.get_by_role("button", name="Tout décocher").click()
    page.get_by_label(re.compile("^Alimentation")).check()
    expect(page.locator("#atlas-status")).to_have_text("1 structure dans la vue, 4 en France")
    expect(page.locator(MAP)).to_have_attribute("data-markers", "1")
    assert dot_colour(page, *ATELIER_VELO) == colours["alimentation"]
    assert_clean(page, log, server)


def test_legal_form_and_sector_filters_combine(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    page.get_by_label("Forme juridique").select_option("cooperative")
    expect(page.locator("#atlas-status")).to_have_text("2 structures dans la vue, 2 en France")
    page.get_by_text("Secteurs (tous)").click()
    page.get_by_role("button", name="Tout décocher").click()
    page.get_by_label(re.compile("^Réemploi")).check()
    expect(page.locator("#atlas-status")).to_have_text("0 structure dans la vue, 0 en France")
    assert any("legal_form=cooperative" in u and "category=reemploi" in u for u in log.requests)
    assert_clean(page, log, server)


def test_choosing_a_departement_zooms_to_its_area(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    page.get_by_label("Région ou département").select_option("departement:69")
    expect(page.locator("#atlas-status")).to_have_text("4 structures dans la vue, 4 en France")
    area = api(server, "/api/areas/bounds")["departements"]["69"]
    view = page.evaluate("window.atlas.map.getBounds()"
                         ".toBBoxString()")
    west, south, east, north = map(float, view.split(","))
    assert west <= area[0] and south <= area[1] and east >= area[2] and north >= area[3]
    assert east - west < 4 * (area[2] - area[0])
    assert sorted(list_names(page)) == sorted(NEAR_LYON)
    assert_clean(page, log, server)


def test_keyword_search_covers_france_and_fits_the_results(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, "#carte=12/50.6280/3.0480",
             "1 structure dans la vue, 9 en France")
    page.get_by_label("Nom ou mot-clé (toute la France)").fill("Nantes")
    expect(page.locator("#atlas-status")).to_have_text(
        "3 résultats en France pour « Nantes », 0 dans la vue")
    page.get_by_role("button", name="Voir tous les résultats").click()
    expect(page.locator("#atlas-status")).to_have_text(
        "3 résultats en France pour « Nantes », 3 dans la vue")
    assert sorted(list_names(page)) == sorted(IN_NANTES)
    assert_clean(page, log, server)


def test_a_keyword_under_three_characters_filters_nothing_and_says_why(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    page.get_by_label("Nom ou mot-clé (toute la France)").fill("Na")
    expect(page.locator("#atlas-status")).to_have_text(
        FRANCE_STATUS + " (mot-clé : 3 caractères au moins)")
    assert_clean(page, log, server)


def test_place_box_suggests_places_and_never_becomes_a_keyword(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    page.get_by_label("Aller à une ville ou une adresse").press_sequentially("Villeurb")
    option = page.get_by_role("option", name="Villeurbanne (69)")
    expect(option).to_be_visible()
    option.click()
    expect(page.locator(LIST_NAMES, has_text="Village vertical")).to_have_count(1)
    expect(page.locator("#atlas-status")).not_to_contain_text("résultat")
    assert page.get_by_label("Nom ou mot-clé (toute la France)").input_value() == ""
    assert not any("q=Villeurb" in url for url in log.requests if "/api/organisations" in url)
    centre = page.evaluate("window.atlas.map.getCenter()")
    assert abs(centre["lat"] - 45.77) < 0.05 and abs(centre["lng"] - 4.88) < 0.05
    assert_clean(page, log, server)


def test_hostile_name_is_shown_as_text_and_runs_nothing(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    page.locator(".atlas-item", has_text=HOSTILE_NAME).click()
    card = page.locator(CARD)
    expect(card.locator(".atlas-card-title")).to_have_text(HOSTILE_NAME)
    expect(card.locator(".atlas-card-description")).to_contain_text("<script>alert(3)</script>")
    expect(card.locator(".atlas-card-address")).to_contain_text("8 rue <b>Marignan</b>")
    assert page.locator("img[src='x'], #atlas-card img, #atlas-results img, b").count() == 0
    # The one inline script element is the page's JSON configuration, which runs nothing.
    assert page.locator("script:not([src])").count() == 1
    assert page.locator("script:not([src])").get_attribute("type") == "application/json"
    assert_clean(page, log, server)


def test_keyboard_reaches_a_card_from_the_list_and_returns_to_it(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    page.get_by_label("Nom ou mot-clé (toute la France)").focus()
    name = "Atelier vélo solidaire de Nantes"
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").startswith(name):
            break
    item = page.locator(".atlas-item", has_text=name)
    expect(item).to_be_focused()
    page.keyboard.press("Enter")
    card = page.locator(CARD)
    expect(card.locator(".atlas-card-title")).to_have_text(name)
    expect(card).to_be_focused()
    expect(item).to_have_attribute("aria-current", "true")
    link = card.get_by_role("link", name=re.compile(r"^atelier-velo\.example\.org"))
    expect(link).to_have_attribute("href", "http://atelier-velo.example.org/nantes")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    page.keyboard.press("Escape")
    expect(card).to_be_hidden()
    expect(item).to_be_focused()
    assert_clean(page, log, server)


def test_dots_are_no_tab_stops_and_controls_speak_french(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    expect(page.get_by_role("button", name="Zoomer", exact=True)).to_have_count(1)
    expect(page.get_by_role("button", name="Dézoomer", exact=True)).to_have_count(1)
    expect(page.get_by_role("link", name="Leaflet")).to_have_attribute(
        "title", "Une bibliothèque JavaScript pour les cartes interactives")
    assert page.locator(".atlas-map .leaflet-interactive[tabindex]").count() == 0
    assert_clean(page, log, server)


def test_clicking_a_dot_opens_its_card_with_the_position_precision(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, "#carte=12/50.6280/3.0480", "1 structure dans la vue, 9 en France")
    page.mouse.click(*screen_point(page, *WAZEMMES))
    card = page.locator(CARD)
    expect(card.locator(".atlas-card-title")).to_have_text("Repair café de Wazemmes")
    expect(card.locator(".atlas-card-precision")).to_have_text("Position donnée par la source")
    wazemmes = structure_named(server, "Repair café de Wazemmes")
    expect(card.get_by_role("link", name="Page de la structure")).to_have_attribute(
        "href", f"/structures/{wazemmes['id']}?lang=fr")
    page.get_by_role("button", name="Fermer la fiche").click()
    expect(card).to_be_hidden()
    assert_clean(page, log, server)


def test_a_card_says_when_the_position_is_the_commune_centre(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    page.locator(".atlas-item", has_text="Village vertical").click()
    expect(page.locator(CARD).locator(".atlas-card-precision")).to_have_text(
        "Position approximative : au centre de la commune")
    assert_clean(page, log, server)


def open_map_in_lyon(page: Page, context: BrowserContext, server: Server) -> None:
    """The map, in a browser allowed to tell that it is in Lyon."""
    context.grant_permissions(["geolocation"], origin=server.base_url)
    context.set_geolocation(LYON)
    open_map(page, server)


def test_near_me_counts_honestly_within_the_chosen_radius(
    server: Server, context: BrowserContext, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map_in_lyon(page, context, server)
    page.get_by_role("button", name="Autour de moi").click()
    expect(page.locator("#atlas-status")).to_have_text("4 structures à moins de 10 km")
    nearby_url = nearby_api_url(10)
    nearest_first = [f["properties"]["name"] for f in api(server, nearby_url)["features"]]
    assert list_names(page) == nearest_first
    page.get_by_label("Rayon").select_option("1")
    expect(page.locator("#atlas-status")).to_have_text(nearby_status(server, 1))
    page.get_by_role("button", name="Revenir à la zone de la carte").click()
    expect(page.locator("#atlas-status")).to_contain_text("dans la vue")
    expect(page.locator("#atlas-results-title")).to_have_text("Structures dans la vue")
    assert_clean(page, log, server)


def nearby_api_url(radius_km: int) -> str:
    lat, lon = LYON_SHARED
    return f"/api/nearby?lat={lat:.6f}&lon={lon:.6f}&radius_km={radius_km}&limit=200"


def nearby_status(server: Server, radius_km: int) -> str:
    found = api(server, nearby_api_url(radius_km))["numberMatched"]
    return f"{found} structure{'s' if found > 1 else ''} à moins de {radius_km} km"


def test_every_point_of_the_map_has_a_french_name(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    names = page.locator(POINT_NAMES)
    expect(names).to_have_count(3)
    assert sorted(names.all_text_contents()) == [
        "3 structures : zoomer", "4 structures : zoomer", "Repair café de Wazemmes"]
    assert shown_markers(page) == 3
    set_view(page, *WAZEMMES, 12)
    expect(names).to_have_text(["Repair café de Wazemmes"])
    assert_clean(page, log, server)


def test_permalink_keeps_the_place_and_near_me_with_its_radius(
    server: Server, context: BrowserContext, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    status = page.locator("#atlas-status")
    place_box = page.get_by_label("Aller à une ville ou une adresse")
    open_map_in_lyon(page, context, server)
    place_box.press_sequentially("Villeurb")
    page.get_by_role("option", name="Villeurbanne (69)").click()
    place_mark = page.locator(POINT_NAMES, has_text="Lieu recherché : Villeurbanne (69)")
    expect(place_mark).to_have_count(1)
    expect(page.locator(LIST_NAMES).first).to_have_text("Village vertical")
    by_distance = list_names(page)
    page.wait_for_timeout(600)
    assert "lieu=" in page.url and "lieu_nom=Villeurbanne" in page.url
    page.get_by_role("button", name="Autour de moi").click()
    expect(status).to_have_text(nearby_status(server, 10))
    page.wait_for_timeout(600)
    page.get_by_label("Rayon").select_option("1")
    expect(status).to_have_text(nearby_status(server, 1))
    page.wait_for_timeout(600)
    assert f"autour={LYON_SHARED[0]},{LYON_SHARED[1]}&rayon=1" in page.url
    page.reload()
    expect(status).to_have_text(nearby_status(server, 1))
    expect(page.get_by_label("Rayon")).to_have_value("1")
    expect(page.locator(POINT_NAMES, has_text="Votre position")).to_have_count(1)
    nearest = [f["properties"]["name"] for f in api(server, nearby_api_url(1))["features"]]
    assert list_names(page) == nearest
    page.go_back()
    expect(status).to_have_text(nearby_status(server, 10))
    expect(page.get_by_label("Rayon")).to_have_value("10")
    page.go_back()
    expect(place_box).to_have_value("Villeurbanne (69)")
    expect(place_mark).to_have_count(1)
    expect(page.locator("#atlas-nearby-tools")).to_be_hidden()
    expect(status).to_contain_text("dans la vue")
    assert list_names(page) == by_distance
    page.reload()
    expect(place_mark).to_have_count(1)
    expect(page.locator(LIST_NAMES).first).to_have_text("Village vertical")
    assert list_names(page) == by_distance
    assert_clean(page, log, server)


def test_permalink_restores_the_state_and_back_steps_through_it(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    page.get_by_text("Secteurs (tous)").click()
    page.get_by_role("button", name="Tout décocher").click()
    page.get_by_label(re.compile("^Alimentation")).check()
    expect(page.locator("#atlas-status")).to_have_text("3 structures dans la vue, 4 en France")
    page.wait_for_timeout(600)
    page.get_by_label("Forme juridique").select_option("association")
    page.wait_for_timeout(600)
    page.get_by_label("Nom ou mot-clé (toute la France)").fill("solidaire")
    expect(page.locator("#atlas-status")).to_have_text(
        "3 résultats en France pour « solidaire », 2 dans la vue")
    page.wait_for_timeout(600)
    set_view(page, 45.77, 4.83, 13)
    expect(page.locator("#atlas-status")).to_have_text(
        "3 résultats en France pour « solidaire », 1 dans la vue")
    page.wait_for_timeout(600)
    page.locator(".atlas-item", has_text="Épicerie solidaire de la Croix-Rousse").click()
    expect(page.locator(CARD)).to_be_visible()
    page.wait_for_timeout(600)
    url = page.url
    assert "structure=" in url and "q=solidaire" in url and "forme=association" in url
    page.reload()
    expect(page.locator("#atlas-card .atlas-card-title")).to_have_text(
        "Épicerie solidaire de la Croix-Rousse")
    expect(page.locator("#atlas-status")).to_have_text(
        "3 résultats en France pour « solidaire », 1 dans la vue")
    assert page.get_by_label("Forme juridique").input_value() == "association"
    assert page.url == url
    page.go_back()
    expect(page.locator(CARD)).to_be_hidden()
    page.go_back()
    expect(page.locator("#atlas-status")).to_have_text(
        "3 résultats en France pour « solidaire », 2 dans la vue")
    page.go_back()
    expect(page.get_by_label("Nom ou mot-clé (toute la France)")).to_have_value("")
    page.go_back()
    expect(page.get_by_label("Forme juridique")).to_have_value("")
    assert_clean(page, log, server)


@pytest.mark.parametrize("size", [(360, 640), (390, 844)], ids=["360x640", "390x844"])
def test_on_a_phone_a_card_is_a_closable_sheet_inside_the_screen(
    server: Server, page_and_log: tuple[Page, PageLog], size: tuple[int, int]
) -> None:
    page, log = page_and_log
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    page.goto(server.base_url + "/#carte=12/50.6280/3.0480")
    expect(page.locator("#atlas-status")).to_have_text("1 structure dans la vue, 9 en France")
    legend = page.locator(".atlas-legend")
    assert legend.evaluate("box => box.open") is False
    page.mouse.click(*screen_point(page, *WAZEMMES))
    assert_sheet_inside(page, width, height)
    page.get_by_role("button", name="Liste").click()
    page.locator(".atlas-item", has_text="Repair café de Wazemmes").click()
    assert_sheet_inside(page, width, height)
    page.get_by_role("button", name="Filtres").click()
    expect(page.get_by_label("Forme juridique")).to_be_visible()
    assert_clean(page, log, server)


def assert_sheet_inside(page: Page, width: int, height: int) -> None:
    card = page.locator(CARD)
    expect(card.locator(".atlas-card-title")).to_have_text("Repair café de Wazemmes")
    # The title is filled before the sheet is shown (the map view comes back first).
    expect(card).to_be_visible()
    box = card.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
    page.get_by_role("button", name="Fermer la fiche").click()
    expect(card).to_be_hidden()


def serious_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]
            if v["impact"] in {"serious", "critical"}]


def test_the_card_links_to_the_structure_page_with_its_json_ld(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server)
    page.locator(".atlas-item", has_text=HOSTILE_NAME).click()
    page.locator(CARD).get_by_role("link", name="Page de la structure").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_NAME)
    structure_id = int(urlsplit(page.url).path.rsplit("/", 1)[1])
    feature = api(server, f"/api/organisations/{structure_id}")
    properties = feature["properties"]
    lon, lat = feature["geometry"]["coordinates"]
    document = json.loads(page.locator("script[type='application/ld+json']").text_content() or "")
    assert document == {
        "@context": "https://schema.org", "@type": "Organization", "name": HOSTILE_NAME,
        "description": "Nom piégé : il doit s'afficher comme du texte <script>alert(3)</script>.",
        "address": {"@type": "PostalAddress", "streetAddress": "8 rue <b>Marignan</b>",
                    "postalCode": "69007", "addressLocality": "Lyon", "addressCountry": "FR"},
        "geo": {"@type": "GeoCoordinates", "latitude": lat, "longitude": lon},
    }
    assert properties["name"] == HOSTILE_NAME
    expect(page.locator("#atlas-structure-map path.leaflet-interactive")).to_have_count(1)
    assert page.locator("img[src='x'], b").count() == 0
    assert_clean(page, log, server)


def test_an_unknown_structure_gets_a_404_page(server: Server) -> None:
    for wanted in ("999999", "abc"):
        with pytest.raises(HTTPError) as raised:
            urlopen(f"{server.base_url}/structures/{wanted}")
        assert raised.value.code == 404
        assert raised.value.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "<h1>Structure introuvable</h1>" in raised.value.read().decode()


PARIS_STACK = (48.85659, 2.34292)


@pytest.fixture(scope="module")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app over the default directory (81 structures, 27 of them on one Paris point)."""
    with serving(tmp_path_factory.mktemp("default-db"), None) as running:
        yield running


@pytest.mark.parametrize("zoom", [14, 19])
def test_structures_on_one_point_open_as_one_list(
    default_server: Server, page_and_log: tuple[Page, PageLog], zoom: int
) -> None:
    page, log = page_and_log
    page.route(f"{default_server.tiles_origin}/tiles/**", lambda route: route.fulfill(
        status=200, content_type="image/png", body=TILE_PNG))
    lat, lon = PARIS_STACK
    page.goto(f"{default_server.base_url}/#carte={zoom}/{lat}/{lon}")
    expect(page.locator("#atlas-status")).to_contain_text("81 en France")
    page.wait_for_load_state("networkidle")
    page.mouse.click(*screen_point(page, lat, lon))
    card = page.locator(CARD)
    expect(page.locator(POINT_NAMES, has_text="27 structures au même endroit")).to_have_count(1)
    expect(card.locator(".atlas-card-title")).to_have_text("27 structures au même endroit")
    expect(card.locator(".atlas-stack .atlas-item")).to_have_count(27)
    card.locator(".atlas-stack .atlas-item").first.click()
    expect(card.locator(".atlas-card-precision")).to_have_text(
        "Position approximative : au centre de la commune")
    assert_clean(page, log, default_server)


ENGLISH_STATUS = "8 structures in view, 9 in France"
LOCALE = Path(__file__).parents[1] / "app" / "mapview" / "locale"
SCRIPT_CATALOGUES = Path(__file__).parents[1] / "app" / "mapview" / "static" / "i18n"
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")
# Every text of a page and every accessible name or hint, outside script and the language
# switch's own names (an autonym is in its own language, marked with lang).
PAGE_TEXTS = """() => {
  const outside = (node) => !node.closest('script, style, [lang]:not(html)');
  const texts = [];
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (outside(node.parentElement) && node.textContent.trim()) texts.push(node.textContent.trim());
  }
  for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt], meta')) {
    if (!outside(el)) continue;
    for (const name of ['aria-label', 'title', 'placeholder', 'alt', 'content']) {
      if (el.getAttribute(name)) texts.push(el.getAttribute(name));
    }
  }
  return texts;
}"""


def leaves(tree: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from ((f"{key}.{sub}", text) for sub, text in leaves(value))
        else:
            yield key, value


def french_fragments() -> set[str]:
    """The French catalogue's texts that English says otherwise, cut at their placeholders."""
    from babel.messages.pofile import read_po

    french = dict(leaves(json.loads((SCRIPT_CATALOGUES / "fr.json").read_text("utf-8"))))
    english = dict(leaves(json.loads((SCRIPT_CATALOGUES / "en.json").read_text("utf-8"))))
    pairs = [(text, english[key]) for key, text in french.items()]
    with (LOCALE / "en" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        pairs += [(str(m.id), str(m.string)) for m in read_po(source) if m.id]
    fragments = set()
    for text, translated in pairs:
        for part in PLACEHOLDER.split(text):
            # Shorter pieces ("À", " (") say nothing about the language.
            if len(part.strip()) >= 5 and part.strip() not in translated:
                fragments.add(part.strip())
    return fragments


def french_left(page: Page) -> list[str]:
    texts: list[str] = page.evaluate(PAGE_TEXTS)
    return sorted({f"{fragment!r} in {text!r}" for text in texts
                   for fragment in french_fragments() if fragment in text})


@pytest.fixture(scope="module")
def english_context(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserContext]:
    """A browser whose language, and so Accept-Language, is British English."""
    context = desktop_context(playwright, tmp_path_factory.mktemp("english-profile"), "en-GB")
    yield context
    context.close()


@pytest.fixture
def english_page(server: Server, english_context: BrowserContext) -> Iterator[tuple[Page, PageLog]]:
    yield from logged_page(server, english_context)


def open_english(page: Page, server: Server, path: str = "/",
                 status: str = ENGLISH_STATUS) -> None:
    page.goto(server.base_url + path)
    expect(page.locator("#atlas-status")).to_have_text(status)


def test_an_english_browser_gets_an_english_page_cards_and_controls(
    server: Server, english_page: tuple[Page, PageLog]
) -> None:
    page, log = english_page
    open_english(page, server)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_title("ESS Atlas — map of the social and solidarity economy")
    expect(page.get_by_role("button", name="Zoom in", exact=True)).to_have_count(1)
    expect(page.get_by_role("button", name="Zoom out", exact=True)).to_have_count(1)
    expect(page.get_by_role("link", name="Leaflet")).to_have_attribute(
        "title", "A JavaScript library for interactive maps")
    expect(page.locator(POINT_NAMES, has_text="4 structures: zoom in")).to_have_count(1)
    page.get_by_text("Sectors (all)").click()
    expect(page.get_by_label(re.compile("^Food"))).to_be_checked()
    expect(page.get_by_label("Legal form").locator("option")).to_contain_text(
        ["All legal forms", "Association", "Cooperative (SCOP, SCIC, CAE…)"])
    page.locator(".atlas-item", has_text="Village vertical").click()
    card = page.locator(CARD)
    expect(card.locator(".atlas-card-precision")).to_have_text(
        "Approximate position: at the centre of the municipality")
    expect(card.get_by_role("link", name="Structure page")).to_have_attribute(
        "href", re.compile(r"^/structures/\d+\?lang=en$"))
    page.get_by_role("button", name="Close the card").click()
    expect(card).to_be_hidden()
    assert_clean(page, log, server)


def test_lang_fr_in_the_address_overrides_an_english_browser(
    server: Server, english_page: tuple[Page, PageLog]
) -> None:
    page, log = english_page
    open_english(page, server, "/?lang=fr", FRANCE_STATUS)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("button", name="Zoomer", exact=True)).to_have_count(1)
    assert_clean(page, log, server)


def test_the_language_switch_is_remembered(
    server: Server, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_map(page, server, "#carte=12/50.62800/3.04800", "1 structure dans la vue, 9 en France")
    try:
        page.get_by_role("link", name="English").click()
        expect(page.locator("#atlas-status")).to_have_text("1 structure in view, 9 in France")
        assert urlsplit(page.url).query == "lang=en"
        page.goto(server.base_url + "/")
        expect(page.locator("#atlas-status")).to_have_text(ENGLISH_STATUS)
        assert urlsplit(page.url).query == "lang=en"
        page.get_by_role("link", name="Français").click()
        expect(page.locator("#atlas-status")).to_have_text(FRANCE_STATUS)
    finally:
        page.evaluate("window.localStorage.clear()")
    assert_clean(page, log, server)


def test_no_french_text_is_left_in_the_english_page(
    server: Server, english_page: tuple[Page, PageLog]
) -> None:
    page, log = english_page
    open_english(page, server, "/?lang=fr", FRANCE_STATUS)
    # The walk finds the catalogue's French where it is.
    assert "'Structures dans la vue' in 'Structures dans la vue'" in french_left(page)
    open_english(page, server)
    page.get_by_text("Sectors (all)").click()
    page.locator(".atlas-item", has_text="Épicerie solidaire de la Croix-Rousse").click()
    expect(page.locator(CARD)).to_be_visible()
    assert french_left(page) == []
    lat, lon = LYON_SHARED
    open_english(page, server, f"/#autour={lat},{lon}&rayon=5",
                 f"{api(server, nearby_api_url(5))['numberMatched']} structures within 5 km")
    assert french_left(page) == []
    page.goto(server.base_url + "/structures/999999")
    expect(page.get_by_role("heading", level=1)).to_have_text("Structure not found")
    assert french_left(page) == []
    not_found = ("Failed to load resource: the server responded with a status of 404 (Not Found)"
                 f" @ {server.base_url}/structures/999999")
    assert_clean(page, log, server, allowed_errors=(not_found,))


def test_the_structure_page_speaks_english(
    server: Server, english_page: tuple[Page, PageLog]
) -> None:
    page, log = english_page
    wazemmes = structure_named(server, "Repair café de Wazemmes")
    page.goto(f"{server.base_url}/structures/{wazemmes['id']}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".atlas-card-sectors li")).to_have_text(["Reuse and refurbishing"])
    expect(page.get_by_role("link", name="See on the map")).to_have_attribute(
        "href", re.compile(r"^/\?lang=en#carte=16/"))
    expect(page.get_by_role("region", name="Position of Repair café de Wazemmes on the map"))\
        .to_have_count(1)
    assert french_left(page) == []
    assert_clean(page, log, server)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_axe_finds_no_serious_violation_on_the_map_and_a_structure_page(
    server: Server, page_and_log: tuple[Page, PageLog], language: str
) -> None:
    page, log = page_and_log
    status = {"fr": FRANCE_STATUS, "en": ENGLISH_STATUS}[language]
    open_map(page, server, f"?lang={language}", status)
    assert serious_violations(page) == []
    page.locator(".atlas-item", has_text=HOSTILE_NAME).click()
    expect(page.locator(CARD)).to_be_visible()
    assert serious_violations(page) == []
    page.locator(".atlas-card-page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_NAME)
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert serious_violations(page) == []
    assert_clean(page, log, server)
