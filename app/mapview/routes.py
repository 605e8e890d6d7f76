"""Mount the map page at `/` and its static assets, served with long cache lifetimes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from app import queries
from app.deps import SQLITE_INTEGER_MAX, SessionDep
from app.geojson import feature_of_values
from app.mapview import embed
from app.mapview.i18n import LANGUAGES, page_language
from app.mapview.page import (
    ATLAS_URL,
    LEAFLET_DIR,
    LEAFLET_URL,
    STATIC_DIR,
    MapPage,
    build_map_page,
    page_headers,
    static_version,
)
from app.mapview.structure_page import render_missing, render_structure

# Asset URLs carry a content or version query string, so they can be cached for a year.
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"

router = APIRouter(tags=["map"])


class CachedStaticFiles(StaticFiles):
    """Static files with long cache headers and no content sniffing."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        """The file response of StaticFiles plus our cache headers."""
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = ASSET_CACHE_CONTROL
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


LangQuery = Annotated[str | None, Query(description="fr or en; else Accept-Language")]
AcceptLanguage = Annotated[str | None, Header()]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def map_page(
    request: Request, lang: LangQuery = None, accept_language: AcceptLanguage = None
) -> HTMLResponse:
    """The interactive map: a page shell that fetches the structures from the API."""
    pages: dict[str, MapPage] = request.app.state.map_pages
    page = pages[page_language(lang, accept_language)]
    return HTMLResponse(page.html, headers=page.headers)


@router.get("/structures/{wanted}", response_class=HTMLResponse, include_in_schema=False)
def structure_page(
    wanted: str, request: Request, session: SessionDep,
    lang: LangQuery = None, accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """The shareable page of one structure; an HTML 404 page for an unknown id."""
    settings = request.app.state.settings
    language = page_language(lang, accept_language)
    row = None
    if wanted.isascii() and wanted.isdigit() and 0 < int(wanted) <= SQLITE_INTEGER_MAX:
        row = queries.organisation_by_id(session=session, organisation_id=int(wanted))
    if row is None:
        html = render_missing(wanted, language)
        headers = page_headers(html, settings, language)
        return HTMLResponse(html, status_code=404, headers=headers)
    feature = feature_of_values(row)
    html = render_structure(feature, request.app.state.taxonomy, settings, language)
    return HTMLResponse(html, headers=page_headers(html, settings, language))


def mount_map(app: FastAPI) -> None:
    """Render the map page once per language for this app and serve it with its assets."""
    settings, taxonomy = app.state.settings, app.state.taxonomy
    app.state.map_pages = {
        language: build_map_page(settings, taxonomy, language) for language in LANGUAGES
    }
    app.mount(LEAFLET_URL, CachedStaticFiles(directory=LEAFLET_DIR), name="leaflet")
    app.mount(f"{ATLAS_URL}/{static_version()}", CachedStaticFiles(directory=STATIC_DIR),
              name="atlas")
    app.include_router(router)
    app.include_router(embed.router)
