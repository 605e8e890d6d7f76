"""An import at scale: memory bounded by the batch, not the file; reports that count everything."""

from __future__ import annotations

import csv
import io
import struct
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from import_helpers import CsvWriter, Importer
from sqlalchemy import Engine, text

from app.config import Settings
from app.db import create_schema, make_engine
from app.importer.context import close_context, import_context
from app.importer.pipeline import ImportContext, ImportOptions, import_paths
from app.importer.progress import BatchReceipt, SilentObserver
from app.importer.report import LISTED, rejected_rows_csv

BATCH = 200
SMALL, LARGE = 2000, 8000
COMMUNES = [("69001", "Lyon"), ("44000", "Nantes"), ("13002", "Marseille"), ("59000", "Lille"),
            ("35000", "Rennes"), ("67000", "Strasbourg"), ("33000", "Bordeaux")]


def write_structures(path: Path, rows: int) -> Path:
    """`rows` structures with one key each, spread over a few communes."""
    lines = ["id;source;nom;description;cp;commune;secteur"]
    for index in range(rows):
        postcode, city = COMMUNES[index % len(COMMUNES)]
        key, name = index, f"Atelier solidaire numéro {index}"
        lines.append(f"r{key};reseau;{name};Réparation, réemploi et prêt d'outils à {city}, "
                     f"depuis {1950 + index % 70};{postcode};{city};reemploi")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class PeakAfterFirstBatch(SilentObserver):
    """Starts measuring the peak once the first batch is in (caches are built by then)."""

    def batch_committed(self, receipt: BatchReceipt) -> None:
        """Forget the peak of the start."""
        if receipt.number == 1:
            tracemalloc.reset_peak()


@contextmanager
def importing(database: Path) -> Iterator[tuple[Engine, ImportContext]]:
    """An engine on a new database with the schema and an import context of BATCH-row batches."""
    url = f"sqlite:///{database}"
    context = import_context(Settings(_env_file=None, database_url=url,  # type: ignore[call-arg]
                                      import_batch_size=BATCH))
    engine = make_engine(url)
    create_schema(engine)
    try:
        yield engine, context
    finally:
        close_context(context)
        engine.dispose()


def traced_peak(tmp_path: Path, rows: int) -> tuple[int, int]:
    """(peak bytes allocated by Python after the first batch of an import, rows inserted)."""
    source = write_structures(tmp_path / f"reseau-{rows}.csv", rows)
    with importing(tmp_path / f"atlas-{rows}.sqlite3") as (engine, context):
        tracemalloc.start()
        try:
            report = import_paths([source], engine=engine, context=context,
                                  progress=PeakAfterFirstBatch(),
                                  options=ImportOptions(prepare_in_worker=False))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert report.rejected == 0
    return peak, report.count("inserted")


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small, small_inserted = traced_peak(tmp_path, SMALL)
    large, large_inserted = traced_peak(tmp_path, LARGE)
    # Four times the rows, four times the rows written ...
    assert (small_inserted, large_inserted) == (SMALL, LARGE)
    # ... in about the same memory (holding the file, or a Python object per row, would
    # take several times more).
    assert large < 1.5 * small, (small, large)


class WalFrames(SilentObserver):
    """Reads, after each batch, how many frames the WAL holds (from its index, read-only)."""

    def __init__(self, database: Path) -> None:
        self.shm = database.with_name(database.name + "-shm")
        self.after_batch: list[int] = []

    def batch_committed(self, receipt: BatchReceipt) -> None:
        """Note mxFrame, the WAL-index header's u32 at byte 16 in native order."""
        self.after_batch.append(struct.unpack_from("=I", self.shm.read_bytes(), 16)[0])


def test_each_batch_starts_the_wal_over_and_the_import_ends_it(tmp_path: Path) -> None:
    database = tmp_path / "atlas.sqlite3"
    frames = WalFrames(database)
    with importing(database) as (engine, context):
        report = import_paths([write_structures(tmp_path / "reseau.csv", SMALL)], engine=engine,
                              context=context, progress=frames,
                              options=ImportOptions(prepare_in_worker=False))
        # At the end the WAL file is cut to nothing, while the engine's connections are
        # open (the last one to close would remove it anyway).
        left = database.with_name(database.name + "-wal").stat().st_size
    assert report.count("inserted") == SMALL
    batches = frames.after_batch
    assert len(batches) == SMALL // BATCH
    # The WAL holds the last batch's pages, not every batch's: it is reused from its start.
    # Appended to instead, it would hold the pages of all ten batches at the end (about ten
    # times the first's; a batch writes more pages as the file grows, here 2-3 times more).
    assert batches[-1] < 4 * batches[0], batches
    assert left == 0


def test_a_report_lists_the_first_rejections_and_counts_them_all(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    extra = 7
    rows = "".join(f";{i};69001;Lyon;habitat\n" for i in range(LISTED + extra))
    report = run_import(write_csv("a.csv", "nom;id;cp;commune;secteur\n" + rows +
                                  "Atelier;x;69001;Lyon;habitat\n"))
    as_json = report.to_dict()
    assert (report.rejected, len(report.rejections), report.count("inserted")) == (
        LISTED + extra, LISTED, 1)
    assert (as_json["rejected"], as_json["rejections_listed"], as_json["rejection_reasons"]) == (
        LISTED + extra, LISTED, {"name_missing": LISTED + extra})
    assert [r.line for r in report.rejections] == list(range(2, LISTED + 2))
    rejected = list(csv.DictReader(io.StringIO(rejected_rows_csv(report).lstrip("\ufeff")),
                                   delimiter=";"))
    assert [row["source_id"] for row in rejected] == [str(i) for i in range(LISTED + extra)]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM organisation")).scalars().all() == [
            "Atelier"]


def test_warnings_are_listed_up_to_the_limit_and_counted_exactly(
    run_import: Importer, write_csv: CsvWriter
) -> None:
    repeats = LISTED + 3
    rows = "".join(f"Atelier;same;reseau;69001;Lyon;habitat;{i}\n" for i in range(repeats + 1))
    report = run_import(write_csv("a.csv", "nom;id;source;cp;commune;secteur;description\n"
                                  + rows))
    as_json = report.to_dict()
    assert (report.count("inserted"), report.count("duplicate_in_run")) == (1, repeats)
    assert (as_json["warnings_listed"], as_json["warnings_total"], as_json["warning_codes"]) == (
        LISTED, repeats, {"duplicate_in_run": repeats})
