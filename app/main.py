"""The application factory: `create_app(settings)`, plus `app` for the server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from app.answer_cache import AnswerCache
from app.apidocs import mount_docs
from app.compression import CompressionMiddleware
from app.config import Settings
from app.cors import PublicCorsMiddleware
from app.db import create_schema, make_engine
from app.handlers import install_error_handlers
from app.loading import load_default_directory
from app.mapview.routes import mount_map
from app.middleware import HeadMiddleware, RequestIdMiddleware, SecurityHeadersMiddleware
from app.openapi import install_openapi
from app.routers import (
    areas,
    basemap,
    choropleth,
    clusters,
    deletions,
    exports,
    facets,
    geocode,
    health,
    imports,
    nearby,
    ogc,
    organisations,
    taxonomy,
)
from app.schema import OutdatedSchema
from app.taxonomy import load_taxonomy

logger = logging.getLogger(__name__)

# ISA-L's level 1 of 0-3 (app/compression.py): a 100-feature page (120 KB) in 0.09 ms,
# 14.7 KB; its level 3 takes 0.30 ms and saves 1 % more (zlib's 3: 0.56 ms, 14.0 KB).
GZIP_LEVEL = 1
GZIP_MINIMUM_SIZE = 1000


def _lifespan(settings: Settings):  # type: ignore[no-untyped-def]
    """Bring the schema up to date (when allowed) and preload the default directory on start.

    An out-of-date schema that may not be upgraded is logged and left alone: the app
    serves, and /healthz answers 503 naming it until `ess-atlas db upgrade` runs.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limit_request_threads(settings.request_threads)
        try:
            create_schema(app.state.engine, migrate=settings.migrates_schema)
        except OutdatedSchema as outdated:
            logger.error("database schema out of date: %s", outdated)
        else:
            if settings.load_default_directory:
                load_default_directory(app.state.engine, settings)
        yield
        app.state.engine.dispose()

    return lifespan


def limit_request_threads(threads: int) -> None:
    """Run at most `threads` synchronous routes (and dependencies) at once in this process.

    Each SQLite row a query steps through releases and takes back the GIL, so requests in
    more threads than the process has a core for queue on the GIL: at 1,000,000
    structures, eight Paris bbox pages at once in one worker cost 31 ms of CPU each with
    anyio's default 40 threads, 19 ms with 2, 15 ms with 1 (bench/results.md, session 6).
    Two keep one thread busy while the other waits on the database or the disk.
    """
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build an ess-atlas application for these settings."""
    settings = settings or Settings()
    app = FastAPI(
        title="ess-atlas",
        summary="Map and open data of the French social and solidarity economy",
        version="0.1.0",
        lifespan=_lifespan(settings),
        docs_url=None,  # app.apidocs serves /docs from local files
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.taxonomy = load_taxonomy(settings.categories_yaml)
    app.state.answers = AnswerCache()
    install_error_handlers(app)
    install_openapi(app, settings, app.state.taxonomy)
    for module in (organisations, nearby, clusters, facets, taxonomy, areas, basemap, choropleth,
                   health, imports, geocode, ogc, exports, deletions):
        app.include_router(module.router)
    mount_map(app)
    mount_docs(app)
    app.add_middleware(imports.AdminFailureShield)
    # Added innermost first: security headers wrap everything, even a 500.
    app.add_middleware(CompressionMiddleware, minimum_size=GZIP_MINIMUM_SIZE,
                       compresslevel=GZIP_LEVEL)
    app.add_middleware(HeadMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(PublicCorsMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


app = create_app()
