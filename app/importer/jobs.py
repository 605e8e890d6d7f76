"""Imports started over HTTP: they run in a background thread and log their progress."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from app.importer.context import close_context
from app.importer.lock import HeldImportLock
from app.importer.pipeline import ImportContext, ImportOptions, import_paths, open_run
from app.importer.progress import BatchReceipt
from app.importer.runs import FAILED, finish_run, record_processed
from app.importer.sources import estimate_rows, source_files

logger = logging.getLogger(__name__)


class RunLogObserver:
    """Writes a run's reading progress to the run log, for GET /api/imports/{id}."""

    def __init__(self, engine: Engine, run_id: str) -> None:
        self.engine, self.run_id = engine, run_id
        self.expected = 0
        self.processed = 0

    def rows_expected(self, total: int) -> None:
        """Remember the estimate (stored with the next progress update)."""
        self.expected = total

    def rows_processed(self, count: int) -> None:
        """Store how far the run has read."""
        self.processed += count
        record_processed(self.engine, self.run_id, self.processed, self.expected)

    def batch_committed(self, receipt: BatchReceipt) -> None:
        """Nothing to do: batches are counted inside their own transaction."""


def _run_in_background(
    engine: Engine, make_context: Callable[[], ImportContext], files: list[Path],
    options: ImportOptions, held: HeldImportLock, upload_dir: Path,
) -> None:
    """The body of the background thread: import, log the outcome, clean up."""
    context = None
    try:
        context = make_context()
        import_paths(files, engine=engine, context=context,
                     progress=RunLogObserver(engine, held.run_id), options=options, lock=held)
    except Exception as error:  # the thread must end cleanly; the failure is in the run log
        logger.exception("import %s failed", held.run_id)
        finish_run(engine, held.run_id, status=FAILED, report=None, rejected_csv=None,
                   message=f"{type(error).__name__}: {error}")
    finally:
        held.release()
        if context is not None:
            close_context(context)
        shutil.rmtree(upload_dir, ignore_errors=True)


def start_background_import(
    engine: Engine, make_context: Callable[[], ImportContext], files: list[Path],
    upload_dir: Path, options: ImportOptions,
) -> str:
    """Take the lock, log the run and import the uploaded files in a thread; return the run id.

    `upload_dir` (holding `files`) is deleted once the import is over, or at once when
    another import is running (ImportInProgress, 409).
    """
    try:
        held = open_run(engine, origin=options.origin, mode=options.mode,
                        files=[path.name for path in files],
                        rows_expected=estimate_rows(source_files(files)))
    except BaseException:
        shutil.rmtree(upload_dir, ignore_errors=True)
        raise
    thread = threading.Thread(
        target=_run_in_background, name=f"import-{held.run_id[:8]}", daemon=True,
        args=(engine, make_context, files, options, held, upload_dir),
    )
    thread.start()
    return held.run_id
