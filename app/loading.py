"""Preload the default directory into an empty database."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlmodel import Session

from app.config import Settings
from app.importer.context import close_context, import_context
from app.importer.lock import ImportInProgress
from app.importer.pipeline import ImportOptions, import_paths
from app.importer.report import ImportReport
from app.storage import organisation_count

logger = logging.getLogger(__name__)


def database_is_empty(engine: Engine) -> bool:
    """True when no structure is stored."""
    with Session(engine) as session:
        return organisation_count(session=session) == 0


def load_default_directory(engine: Engine, settings: Settings) -> ImportReport | None:
    """Import the default directory when the database holds no structure.

    Skipped (with a log line) when another import is writing at that moment.
    """
    if not database_is_empty(engine):
        return None
    context = import_context(settings)
    try:
        report = import_paths([settings.directory_csv], engine=engine, context=context,
                              options=ImportOptions(origin="startup"))
    except ImportInProgress as busy:
        logger.warning("default directory not loaded: %s", busy.message)
        return None
    finally:
        close_context(context)
    logger.info("loaded the default directory: %d structures, %d rejected",
                report.changed, report.rejected)
    return report
