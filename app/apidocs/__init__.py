"""The API documentation page (/docs): Swagger UI served from the swagger-ui-py package.

No CDN: the Swagger UI files are the dist files that package installs, and the page's
only script of its own is static/docs.js, so the page runs under a CSP allowing 'self'.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import version
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from markupsafe import escape

from app.mapview.routes import CachedStaticFiles

SWAGGER_UI_PACKAGE = "swagger_ui"
SWAGGER_UI_URL = "/static/swagger-ui"
DOCS_STATIC_URL = "/static/apidocs"
DOCS_STATIC_DIR = Path(__file__).parent / "static"
DOCS_CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # Swagger UI's icons are data: SVGs in its CSS
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])

router = APIRouter(include_in_schema=False)


def swagger_ui_dir() -> Path:
    """The folder of Swagger UI's dist files, found without importing the package."""
    spec = importlib.util.find_spec(SWAGGER_UI_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed; it serves the /docs page")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def docs_html(title: str, openapi_url: str) -> str:
    """The /docs page: Swagger UI's files, and docs.js that points it at `openapi_url`."""
    assets = f"v={version('swagger-ui-py')}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} – API</title>
<link rel="stylesheet" href="{SWAGGER_UI_URL}/swagger-ui.css?{assets}">
<link rel="icon" type="image/png" href="{SWAGGER_UI_URL}/favicon-32x32.png?{assets}">
<script src="{SWAGGER_UI_URL}/swagger-ui-bundle.js?{assets}" defer></script>
<script src="{DOCS_STATIC_URL}/docs.js?{assets}" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def docs_page() -> HTMLResponse:
    """The interactive API documentation."""
    return HTMLResponse(
        DOCS_PAGE_HTML,
        headers={"Content-Security-Policy": DOCS_CONTENT_SECURITY_POLICY,
                 "Cache-Control": "no-cache"},
    )


DOCS_PAGE_HTML = docs_html("ess-atlas", "/openapi.json")


def mount_docs(app: FastAPI) -> None:
    """Serve /docs and the files it needs (the app is built with docs_url=None)."""
    app.mount(SWAGGER_UI_URL, CachedStaticFiles(directory=swagger_ui_dir()), name="swagger-ui")
    app.mount(DOCS_STATIC_URL, CachedStaticFiles(directory=DOCS_STATIC_DIR), name="apidocs")
    app.include_router(router)
