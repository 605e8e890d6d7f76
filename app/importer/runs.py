"""The import run log: progress while a run writes, then its report and rejected rows.

Progress counters are updated in the same transaction as each batch, so what a run
says it committed is exactly what the database holds, even after a SIGKILL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select, update

from app.db import session_scope
from app.importer.lock import live_lock
from app.models import ImportLock, ImportRun, utc_now

RUNNING = "running"
DONE = "done"
FAILED = "failed"
INTERRUPTED = "interrupted"


def new_run_id() -> str:
    """A fresh, unguessable run id."""
    return uuid.uuid4().hex


def start_run(
    engine: Engine, *, run_id: str, origin: str, mode: str, files: Sequence[str],
    rows_expected: int = 0,
) -> None:
    """Record that a run starts."""
    with session_scope(engine) as session:
        session.add(ImportRun(id=run_id, origin=origin, mode=mode, status=RUNNING,
                              files=json.dumps(list(files), ensure_ascii=False),
                              rows_expected=rows_expected))


def record_batch(*, session: Session, run_id: str, rows: int) -> None:
    """Count a batch inside the transaction that writes it."""
    session.exec(update(ImportRun).where(col(ImportRun.id) == run_id).values(
        rows_committed=col(ImportRun.rows_committed) + rows,
        batches_committed=col(ImportRun.batches_committed) + 1,
    ))


def record_processed(engine: Engine, run_id: str, rows_processed: int, rows_expected: int) -> None:
    """Update how far a run has read (between batches, for progress displays)."""
    with session_scope(engine) as session:
        session.exec(update(ImportRun).where(col(ImportRun.id) == run_id).values(
            rows_processed=rows_processed, rows_expected=rows_expected))


def finish_run(
    engine: Engine, run_id: str, *, status: str, report: dict[str, Any] | None,
    rejected_csv: str | None, message: str | None = None,
) -> None:
    """Store a run's outcome, its JSON report and its rejected rows."""
    with session_scope(engine) as session:
        run = session.get(ImportRun, run_id)
        if run is None:
            return
        run.status, run.finished_at, run.message = status, utc_now(), message
        run.report = json.dumps(report, ensure_ascii=False) if report is not None else None
        run.rejected_csv = rejected_csv
        if report is not None:
            run.rows_processed = int(report.get("rows_read", run.rows_processed))
        session.add(run)


@dataclass(frozen=True)
class RunView:
    """A run as the API shows it."""

    run: ImportRun
    status: str

    def to_dict(self, *, with_report: bool = True) -> dict[str, Any]:
        """The JSON form: status, progress, and (if asked) the report once the run is over."""
        run = self.run
        summary = {
            "id": run.id, "origin": run.origin, "mode": run.mode, "status": self.status,
            "files": json.loads(run.files), "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "progress": {"rows_expected": run.rows_expected, "rows_processed": run.rows_processed,
                         "rows_committed": run.rows_committed,
                         "batches_committed": run.batches_committed},
            "message": run.message,
            "has_rejected_rows": bool(run.rejected_csv),
        }
        if with_report:
            summary["report"] = json.loads(run.report) if run.report else None
        return summary


def _effective_status(engine: Engine, run: ImportRun, lock_before: ImportLock | None) -> str:
    """A run still marked running whose owner is gone was interrupted.

    `lock_before` is the live lock read before `run`. A run is marked finished before its
    lock is released, so had it finished then, `run` would say so: read in the other order,
    a run finishing between the two reads looked interrupted (its report missing). A run
    started between them (its lock is taken first) is found by reading the lock again.
    """
    if run.status != RUNNING:
        return run.status
    if _holds(lock_before, run) or _holds(live_lock(engine), run):
        return RUNNING
    return INTERRUPTED


def _holds(lock: ImportLock | None, run: ImportRun) -> bool:
    """Whether this live lock is the run's."""
    return lock is not None and lock.run_id == run.id


def get_run(engine: Engine, run_id: str) -> RunView | None:
    """A run and its effective status, or None."""
    lock = live_lock(engine)  # before the run: see _effective_status
    with Session(engine) as session:
        run = session.get(ImportRun, run_id)
    if run is None:
        return None
    return RunView(run, _effective_status(engine, run, lock))


def recent_runs(engine: Engine, limit: int = 20) -> list[RunView]:
    """The latest runs, newest first."""
    lock = live_lock(engine)  # before the runs: see _effective_status
    with Session(engine) as session:
        runs = session.exec(select(ImportRun).order_by(col(ImportRun.started_at).desc())
                            .limit(limit)).all()
    return [RunView(run, _effective_status(engine, run, lock)) for run in runs]
