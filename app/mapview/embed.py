"""The embeddable map (/embed) and its generator (/embed/new).

/embed takes the listing filters in its URL and locks them: the page neither shows nor
changes them, and every request of its script carries them. Which sites may frame it
comes from ESS_EMBED_ALLOWED_ORIGINS; every other page keeps `frame-ancestors 'none'`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader

from app import regions
from app.config import Settings
from app.deps import TaxonomyDep, only_parameters
from app.mapview.page import atlas_asset_url, content_security_policy, legal_form_labels

TEMPLATE_DIR = Path(__file__).parent / "templates"
_TEMPLATES = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                         trim_blocks=True, lstrip_blocks=True)
GENERATOR_SCRIPT = "embed-new.js"

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
        categories=taxonomy.categories, legal_forms=legal_form_labels(),
        regions=_regions_with_departements(),
        assets={"favicon": atlas_asset_url("favicon.svg"),
                "atlas_css": atlas_asset_url("atlas.css"),
                "reach_css": atlas_asset_url("reach.css"),
                "generator_js": atlas_asset_url(GENERATOR_SCRIPT)})
    return HTMLResponse(html, headers=generator_headers(html, request.app.state.settings))
