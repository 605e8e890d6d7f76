"""The embeddable map (/embed) and its generator (/embed/new).

/embed takes the listing filters in its URL and locks them: the page neither shows nor
changes them, and every request of its script carries them. Which sites may frame it
comes from ESS_EMBED_ALLOWED_ORIGINS; every other page keeps `frame-ancestors 'none'`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader

from app import regions
from app.config import Settings
from app.deps import TaxonomyDep, only_parameters, organisation_filter
from app.mapview.i18n import legal_form_labels, page_language
from app.mapview.page import (
    atlas_asset_url,
    content_security_policy,
    page_headers,
    render_map_html,
)

TEMPLATE_DIR = Path(__file__).parent / "templates"
_TEMPLATES = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                         trim_blocks=True, lstrip_blocks=True)
GENERATOR_SCRIPT = "js/embed-new.js"
# The filters an embed may lock (the listing filters that make sense for a whole map).
LOCKABLE = ("category", "legal_form", "region", "departement", "q")

router = APIRouter(tags=["map"])


def _regions_with_departements() -> list[dict[str, object]]:
    """Every région with its départements, for the generator's area list."""
    departements = regions.list_departements()
    return [{"code": r.code, "name": r.name,
             "departements": [d for d in departements if d.region == r.code]}
            for r in regions.list_regions()]


def generator_headers(html: str, settings: Settings) -> dict[str, str]:
    """The generator's headers: its preview frames /embed of this app, nobody frames it."""
    policy = content_security_policy(html, settings.tiles_url) + "; frame-src 'self'"
    return {"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin", "Cache-Control": "no-cache"}


@router.get("/embed/new", response_class=HTMLResponse, include_in_schema=False,
            dependencies=[Depends(only_parameters())])
def embed_generator(request: Request, taxonomy: TaxonomyDep) -> HTMLResponse:
    """A form that builds the <iframe> code of an embed, with a live preview."""
    html = _TEMPLATES.get_template("embed_new.html").render(
        categories=taxonomy.categories, legal_forms=legal_form_labels("fr"),
        regions=_regions_with_departements(),
        assets={"favicon": atlas_asset_url("favicon.svg"),
                "atlas_css": atlas_asset_url("atlas.css"),
                "generator_js": atlas_asset_url(GENERATOR_SCRIPT)})
    return HTMLResponse(html, headers=generator_headers(html, request.app.state.settings))


def locked_filters(request: Request) -> dict[str, list[str]]:
    """The lockable filters of the URL, as given (FilterDep has checked every value)."""
    query = request.query_params
    return {name: query.getlist(name) for name in LOCKABLE if name in query}


def embed_headers(html: str, settings: Settings, language: str) -> dict[str, str]:
    """The page's headers, but framed by the sites ESS_EMBED_ALLOWED_ORIGINS names."""
    headers = page_headers(html, settings, language)
    headers["Content-Security-Policy"] = content_security_policy(
        html, settings.tiles_url, frame_ancestors=" ".join(settings.embed_origins))
    return headers


@router.get("/embed", response_class=HTMLResponse, include_in_schema=False,
            # organisation_filter: every locked value is checked, an unknown one is a 400.
            dependencies=[Depends(only_parameters(*LOCKABLE, "lang")),
                          Depends(organisation_filter)])
def embed_page(
    request: Request, taxonomy: TaxonomyDep,
    lang: Annotated[str | None, Query(description="fr or en; else Accept-Language")] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    """The map without its header, the URL's filters locked: not shown, not changeable."""
    settings = request.app.state.settings
    language = page_language(lang, accept_language)
    html = render_map_html(settings, taxonomy, language, locked_filters(request), embedded=True)
    return HTMLResponse(html, headers=embed_headers(html, settings, language))
