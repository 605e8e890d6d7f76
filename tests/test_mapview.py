"""The map page at `/`: local assets only, no embedded data, a strict CSP."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.mapview import page as page_module
from app.mapview.i18n import accepted_language
from app.mapview.page import PRELOADED_MODULES, static_version, tile_source

FIXTURE = Path(__file__).parent / "fixtures" / "map_directory.csv"
TILES_URL = "https://tiles.example.net/{z}/{x}/{y}.png"
ATTRIBUTION_URL = "https://tiles.example.net/about"
TILES_ATTRIBUTION = f'&copy; <a href="{ATTRIBUTION_URL}">Example tiles</a>'
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


class AssetLinks(HTMLParser):
    """Collects the `<script src>` and `<link href>` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value is not None:
                self.urls.append(value)


def asset_urls(html: str) -> list[str]:
    parser = AssetLinks()
    parser.feed(html)
    return parser.urls


def fixture_names() -> list[str]:
    with FIXTURE.open(encoding="utf-8", newline="") as handle:
        return [row["name"] for row in csv.DictReader(handle)]


def csp_directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        default_directory=FIXTURE, tiles_url=TILES_URL, tiles_attribution=TILES_ATTRIBUTION
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def page_html(client: TestClient) -> str:
    html: str = client.get("/").text
    return html


def test_map_page_is_french_html(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text.startswith('<!DOCTYPE html>\n<html lang="fr">\n')


def test_map_page_fits_phones_and_allows_zoom(page_html: str) -> None:
    viewports = re.findall(r'<meta name="viewport" content="([^"]*)">', page_html)
    assert viewports == ["width=device-width, initial-scale=1"]


def test_map_page_links_only_to_the_tile_server_and_its_attribution(page_html: str) -> None:
    urls = set(re.findall(r"https?://[^\s\"'<>\\]+", page_html))
    assert urls == {TILES_URL, ATTRIBUTION_URL}


def test_map_page_references_no_cdn_library(page_html: str) -> None:
    lowered = page_html.lower()
    for library in ("jquery", "bootstrap", "awesome", "font-awesome", "cdn", "//"):
        assert library not in lowered.replace(TILES_URL, "").replace(ATTRIBUTION_URL, "")


def atlas_assets(urls: list[str]) -> list[str]:
    """Our asset URLs without their version directory."""
    version = f"/static/atlas/{static_version()}/"
    return [url.replace(version, "/static/atlas/") for url in urls]


def test_map_page_assets_are_local(page_html: str) -> None:
    assert atlas_assets(asset_urls(page_html)) == [
        "/static/atlas/favicon.svg",
        "/static/leaflet/leaflet.css?v=1.9.3",
        "/static/atlas/atlas.css",
        "/static/leaflet/leaflet.js?v=1.9.3",
        *(f"/static/atlas/{name}" for name in PRELOADED_MODULES),
        "/static/atlas/js/main.js",
    ]


def test_map_page_script_is_one_module_configured_by_json(page_html: str) -> None:
    scripts = re.findall(r"<script([^>]*)>", page_html)
    assert scripts == [
        ' src="/static/leaflet/leaflet.js?v=1.9.3" defer',
        f' type="module" src="/static/atlas/{static_version()}/js/main.js"',
        ' type="application/json" id="atlas-config"',
    ]


def test_every_asset_answers_with_its_content_type_and_long_cache(
    client: TestClient, page_html: str
) -> None:
    for url in asset_urls(page_html):
        response = client.get(url)
        suffix = Path(url.split("?")[0]).suffix
        assert (url, response.status_code) == (url, 200)
        assert response.headers["content-type"] == CONTENT_TYPES[suffix]
        assert response.headers["cache-control"] == ASSET_CACHE_CONTROL
        assert response.headers["x-content-type-options"] == "nosniff"


def test_atlas_asset_urls_carry_one_version_of_the_static_tree(page_html: str) -> None:
    urls = asset_urls(page_html)
    versions = {url.split("/")[3] for url in urls if url.startswith("/static/atlas/")}
    assert versions == {static_version()}
    assert re.fullmatch(r"[0-9a-f]{12}", static_version())


def test_static_version_changes_with_any_static_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "js").mkdir()
    module = tmp_path / "js" / "a.js"
    module.write_text("export const a = 1;\n", encoding="utf-8")
    monkeypatch.setattr(page_module, "STATIC_DIR", tmp_path)
    first = page_module.static_version.__wrapped__()
    module.write_text("export const a = 2;\n", encoding="utf-8")
    assert page_module.static_version.__wrapped__() != first


def test_an_older_version_of_the_assets_is_404(client: TestClient) -> None:
    assert client.get("/static/atlas/000000000000/js/main.js").status_code == 404


def test_leaflet_images_are_served(client: TestClient) -> None:
    response = client.get("/static/leaflet/images/layers.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"


def test_missing_asset_is_404(client: TestClient) -> None:
    assert client.get("/static/atlas/nothing.js").status_code == 404


def test_map_page_does_not_embed_the_dataset(client: TestClient, page_html: str) -> None:
    loaded = client.get("/api/organisations", params={"limit": 100}).json()
    loaded_names = {feature["properties"]["name"] for feature in loaded["features"]}
    assert loaded_names == set(fixture_names())
    for name in fixture_names():
        assert name not in page_html
    assert "Lyon" not in page_html


def page_config(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="atlas-config">(.*?)</script>', html)
    assert found is not None
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def test_tile_layer_url_and_attribution_come_from_settings(page_html: str) -> None:
    assert page_config(page_html)["tiles"] == {
        "url": TILES_URL, "attribution": TILES_ATTRIBUTION, "minZoom": 2, "maxZoom": 19,
    }
    assert "tile.openstreetmap.org" not in page_html


def test_map_page_is_rendered_once_per_app(client: TestClient) -> None:
    first, second = client.get("/").text, client.get("/").text
    assert first == second


def test_map_page_has_no_inline_style(page_html: str) -> None:
    assert "<style" not in page_html
    assert " style=" not in page_html


def test_csp_allows_only_self_and_the_tile_host(client: TestClient) -> None:
    response = client.get("/")
    assert csp_directives(response.headers["content-security-policy"]) == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data: https://tiles.example.net",
        "connect-src": "'self'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def test_map_page_security_headers(client: TestClient) -> None:
    headers = client.get("/").headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["cache-control"] == "no-cache"
    assert "unsafe" not in headers["content-security-policy"]


@pytest.mark.parametrize(
    ("tiles_url", "source"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
        ("https://tiles-{s}.example.org/{z}/{x}/{y}.png", "https:"),
        ("/tiles/{z}/{x}/{y}.png", None),
    ],
)
def test_tile_source_for_the_csp(tiles_url: str, source: str | None) -> None:
    assert tile_source(tiles_url) == source


def test_relative_tile_url_needs_only_self(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(tiles_url="/tiles/{z}/{x}/{y}.png", load_default_directory=False)
    with TestClient(create_app(settings)) as client:
        policy = csp_directives(client.get("/").headers["content-security-policy"])
    assert policy["img-src"] == "'self' data:"


REPOSITORY = Path(__file__).parents[1]
MAPVIEW = REPOSITORY / "app" / "mapview"
ENGLISH_BROWSER = {"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"}


def html_lang(html: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', html)
    assert found is not None
    return found.group(1)


def test_an_english_browser_gets_the_english_page(client: TestClient) -> None:
    response = client.get("/", headers=ENGLISH_BROWSER)
    assert response.status_code == 200
    assert html_lang(response.text) == "en"
    assert response.headers["content-language"] == "en"
    assert "Accept-Language" in response.headers["vary"]
    assert "<h1>ESS Atlas</h1>" in response.text
    assert page_config(response.text)["language"] == "en"


def test_lang_in_the_address_overrides_accept_language(client: TestClient) -> None:
    response = client.get("/?lang=fr", headers=ENGLISH_BROWSER)
    assert html_lang(response.text) == "fr"
    assert response.headers["content-language"] == "fr"
    assert "<h1>Atlas de l'ESS</h1>" in response.text


@pytest.mark.parametrize("path", ["/?lang=de", "/structures/1?lang=EN"])
def test_an_unknown_lang_is_400_naming_it(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    wanted = path.rsplit("=", 1)[1]
    assert response.json() == {"error": {
        "status": 400, "code": "invalid_parameter", "parameter": "lang",
        "message": f"lang: {wanted!r} is not one of fr, en",
    }}


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "fr"),
        ("", "fr"),
        ("en", "en"),
        ("EN-us", "en"),
        ("de-DE, en;q=0.5, fr;q=0.4", "en"),
        ("fr;q=0.4, en;q=0.8", "en"),
        ("en;q=0, de", "fr"),
        ("en;q=x, fr", "fr"),
        ("*", "fr"),
    ],
)
def test_accept_language_picks_the_preferred_language_we_speak(
    header: str | None, language: str
) -> None:
    assert accepted_language(header) == language


def test_the_page_configures_the_script_in_its_language(client: TestClient) -> None:
    config = page_config(client.get("/?lang=en").text)
    english = json.loads((MAPVIEW / "static" / "i18n" / "en.json").read_text("utf-8"))
    assert {key: config[key] for key in ("apiRoot", "language", "locale", "lockedFilters")} == {
        "apiRoot": "/api", "language": "en", "locale": "en-GB", "lockedFilters": {},
    }
    assert config["messages"] == english
    assert config["legalForms"]["mutuelle"] == "Mutual"
    assert config["sectorGroups"]["partenaires"] == "Public partners"


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"\{\w+\}", text))


def catalogue_shape(tree: dict[str, Any]) -> dict[str, Any]:
    """Each message's key, plural forms and placeholders: what both languages must share."""
    shape: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and set(value) <= {"one", "other"}:
            shape[key] = {form: placeholders(text) for form, text in value.items()}
        elif isinstance(value, dict):
            shape[key] = catalogue_shape(value)
        else:
            shape[key] = placeholders(value)
    return shape


def test_the_script_catalogues_have_the_same_messages_and_placeholders() -> None:
    french, english = (json.loads((MAPVIEW / "static" / "i18n" / f"{language}.json")
                                  .read_text("utf-8")) for language in ("fr", "en"))
    assert catalogue_shape(english) == catalogue_shape(french)
    assert english != french


def test_every_server_text_is_translated_into_english() -> None:
    with (REPOSITORY / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    extracted = {message for _, _, message, *_ in
                 extract_from_dir(REPOSITORY, method_map, options_map)}
    with (MAPVIEW / "locale" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source)
    translated = {m.id: m.string for m in catalog if m.id}
    assert extracted == set(translated)
    for french, english in translated.items():
        assert english and english != french
        assert re.findall(r"%\(\w+\)s", english) == re.findall(r"%\(\w+\)s", french)


def test_a_structure_page_in_english_uses_the_english_labels(client: TestClient) -> None:
    features = client.get("/api/organisations").json()["features"]
    village = next(f for f in features if f["properties"]["name"] == "Village vertical")
    response = client.get(f"/structures/{village['id']}", headers=ENGLISH_BROWSER)
    assert response.status_code == 200
    assert html_lang(response.text) == "en"
    assert response.headers["content-language"] == "en"
    assert "<li>Housing</li>" in response.text
    assert '<p class="atlas-card-form">Cooperative (SCOP, SCIC, CAE…) · SCIC</p>' in response.text
    assert "<title>Village vertical — ESS Atlas</title>" in response.text


def test_the_404_page_of_a_structure_speaks_the_visitors_language(client: TestClient) -> None:
    english = client.get("/structures/999999", headers=ENGLISH_BROWSER)
    french = client.get("/structures/999999")
    assert (english.status_code, french.status_code) == (404, 404)
    assert "<h1>Structure not found</h1>" in english.text
    assert "<p>No structure has the number 999999.</p>" in english.text
    assert "<h1>Structure introuvable</h1>" in french.text
