"""The map at 200,000 structures in a real headless Chromium: groups, exact totals, weight, pans."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

import pytest
from aggregate_data import france_records, write
from browser import desktop_chromium, free_port, running_server, solid_png
from playwright.sync_api import BrowserContext, Page, Request, expect

from app.config import Settings
from app.db import create_schema, make_engine
from app.main import create_app

pytestmark = pytest.mark.browser

STRUCTURES = 200_000
MAX_VISIBLE = 500
MAX_PAGE_BYTES = 500_000
TILE_PNG = solid_png(226, 232, 236)


@pytest.fixture(scope="session")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over 200,000 synthetic structures spread like the French population."""
    directory = tmp_path_factory.mktemp("big-db")
    database = f"sqlite:///{directory / 'atlas.sqlite3'}"
    engine = make_engine(database)
    create_schema(engine)
    write(engine, france_records(STRUCTURES), batch=20_000)
    engine.dispose()
    port = free_port()
    settings = Settings(
        _env_file=None, database_url=database, load_default_directory=False,
        tiles_url=f"http://localhost:{port}/tiles/{{z}}/{{x}}/{{y}}.png", geocoder_url=None,
        geocoder_cache_path=directory / "geocode-cache.sqlite3",
    )
    with running_server(create_app(settings), port) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with desktop_chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def page(big_server: str, context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    page.route("http://localhost:*/tiles/**", lambda route: route.fulfill(
        status=200, content_type="image/png", body=TILE_PNG))
    yield page
    page.close()


def number_matched(base_url: str, query: str) -> int:
    with urlopen(f"{base_url}/api/organisations?limit=1{query}") as response:
        matched: int = json.load(response)["numberMatched"]
    return matched


def french(number: int) -> str:
    """A count as the page writes it (narrow no-break space between thousands)."""
    return f"{number:,}".replace(",", "\u202f")


def tiles_of_request(url: str) -> set[tuple[int, int, int]]:
    """The map tiles a /api/clusters request covers (its bbox is made of whole tiles)."""
    query = parse_qs(urlsplit(url).query)
    zoom = int(query["zoom"][0])
    west, south, east, north = map(float, query["bbox"][0].split(","))
    n = 1 << zoom

    def x(lon: float) -> float:
        return (lon + 180) / 360 * n

    def y(lat: float) -> float:
        phi = math.radians(lat)
        return (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * n

    xs = range(round(x(west)), round(x(east)))
    ys = range(round(y(north)), round(y(south)))
    return {(zoom, tx, ty) for tx in xs for ty in ys}


def test_france_view_shows_few_groups_the_exact_total_and_weighs_little(
    big_server: str, page: Page
) -> None:
    finished: list[Request] = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(big_server + "/")
    france = number_matched(big_server, "")
    assert france == STRUCTURES
    expect(page.locator("#atlas-status")).to_contain_text(f", {french(france)} en France")
    in_view = number_matched(big_server, "&bbox=" + page.evaluate(
        "(() => { const b = window.atlas.map.getBounds();"
        " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]"
        ".map(v => v.toFixed(5)).join(','); })()"))
    expect(page.locator("#atlas-status")).to_have_text(
        f"{french(in_view)} structures dans la vue, {french(france)} en France")
    page.wait_for_load_state("networkidle")
    markers = int(page.locator("[data-atlas-map]").get_attribute("data-markers") or "0")
    assert 0 < markers < MAX_VISIBLE
    own = [r for r in finished if "/tiles/" not in r.url]
    transferred = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"]
                      for r in own)
    assert transferred < MAX_PAGE_BYTES, transferred


def test_a_pan_fetches_only_the_tiles_it_had_not_seen(big_server: str, page: Page) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/clusters?" in r.url else None)
    page.goto(big_server + "/#carte=9/45.76000/4.83000")
    expect(page.locator("#atlas-status")).to_contain_text("en France")
    page.wait_for_load_state("networkidle")
    before = set().union(*map(tiles_of_request, asked))
    first = len(asked)
    assert first >= 1
    page.evaluate("window.atlas.map.panBy([300, 200])")
    page.wait_for_function("first => first < performance.getEntriesByType('resource')"
                           ".filter(e => e.name.includes('/api/clusters?')).length", arg=first)
    page.wait_for_load_state("networkidle")
    new = set().union(*map(tiles_of_request, asked[first:]))
    assert new and not new & before
