"""Copy an ess-atlas SQLite database into an empty PostGIS database, fast (COPY).

The PostGIS database is first brought to head by `ess-atlas db upgrade` (revisions, then
the dialect's generated columns and indexes). Then every table of SQLModel.metadata is
emptied and filled from the SQLite file in foreign-key order with psycopg's COPY: each
value goes through SQLite's result processor and PostgreSQL's bind processor of its column
type (datetimes, enums, booleans as the app would write them); the generated columns
(`geom`, `geog`, `document`) are left to PostgreSQL. Indexes that back no constraint are
dropped during the copy and made again from their definitions; sequences are set past the
largest ids, then VACUUM (ANALYZE). `compare` checks the copy: row counts of every table and a
sample of rows, value by value, read back through SQLAlchemy from both sides.

    python bench/copy_to_postgres.py SQLITE_FILE 'postgresql+psycopg://user@/db?host=…'
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import app.models  # noqa: F401  (every table of the metadata)
from app.db import make_engine

ESS_ATLAS = str(Path(sys.executable).parent / "ess-atlas")
BATCH_ROWS = 20_000
SAMPLE_ROWS = 200
Converter = Callable[[Any], Any]
SQLITE_DIALECT, POSTGRESQL_DIALECT = sqlite.dialect(), postgresql.psycopg.dialect()
# A session that builds indexes over a million rows: memory for the sorts, no commit wait.
COPY_SESSION = ("SET maintenance_work_mem = '1GB'", "SET synchronous_commit = off",
                "SET max_parallel_maintenance_workers = 2")


def upgrade(database_url: str) -> None:
    """`ess-atlas db upgrade` on the PostGIS database (schema and extras at head)."""
    env = {**os.environ, "ESS_DATABASE_URL": database_url}
    subprocess.run([ESS_ATLAS, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)


def libpq_conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy postgresql+psycopg URL."""
    url = make_url(database_url)
    parts = {"dbname": url.database, "user": url.username, "password": url.password,
             "host": url.host or url.query.get("host"), "port": url.port or url.query.get("port")}
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in parts.items() if v})


def converter(table: Table, name: str) -> Converter | None:
    """SQLite's stored value -> the value the app would bind on PostgreSQL (None: as is)."""
    kind, source, target = table.c[name].type, SQLITE_DIALECT, POSTGRESQL_DIALECT
    read = kind.dialect_impl(source).result_processor(source, None)
    write = kind.dialect_impl(target).bind_processor(target)
    if read is None and write is None:
        return None
    return lambda value: _apply(write, _apply(read, value))


def _apply(processor: Converter | None, value: Any) -> Any:
    return value if processor is None or value is None else processor(value)


def sqlite_rows(source: sqlite3.Connection, table: Table) -> Iterator[list[Any]]:
    """The table's rows in the metadata's column order, converted for PostgreSQL."""
    names = [column.name for column in table.columns]
    converters = [(i, c) for i, name in enumerate(names) if (c := converter(table, name))]
    cursor = source.execute(f"SELECT {', '.join(_quoted(n) for n in names)} "
                            f"FROM {_quoted(table.name)}")
    while batch := cursor.fetchmany(BATCH_ROWS):
        for stored in batch:
            row = list(stored)
            for index, convert in converters:
                row[index] = convert(row[index])
            yield row


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def copy_table(source: sqlite3.Connection, target: psycopg.Connection[Any], table: Table) -> int:
    """COPY one table's rows into PostgreSQL; how many."""
    columns = ", ".join(_quoted(column.name) for column in table.columns)
    count = 0
    with target.cursor().copy(f"COPY {_quoted(table.name)} ({columns}) FROM STDIN") as copy:
        for row in sqlite_rows(source, table):
            copy.write_row(row)
            count += 1
    return count


def reset_sequences(target: psycopg.Connection[Any], tables: Sequence[Table]) -> None:
    """Every serial column's sequence set past the largest value copied."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = target.execute("SELECT pg_get_serial_sequence(%s, %s)",
                                      (table.name, column.name)).fetchone()
            if sequence and sequence[0]:
                target.execute(f"SELECT setval(%s, coalesce(max({_quoted(column.name)}), 0) + 1, "
                               f"false) FROM {_quoted(table.name)}", (sequence[0],))


def secondary_indexes(target: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of every index that backs no constraint."""
    return target.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)").fetchall()


def copy_database(sqlite_path: Path, database_url: str, *, log: Callable[[str], None] = print
                  ) -> dict[str, int]:
    """Upgrade the PostGIS database, copy every table, reset sequences, ANALYZE; rows per table.

    The indexes that back no constraint are dropped during the copy and made again after it
    from their own definitions (pg_indexes): the same indexes, built once each.
    """
    started = time.perf_counter()
    upgrade(database_url)
    tables = list(SQLModel.metadata.sorted_tables)
    counts: dict[str, int] = {}
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        with psycopg.connect(libpq_conninfo(database_url)) as target:
            for statement in COPY_SESSION:
                target.execute(statement)
            target.execute("TRUNCATE " + ", ".join(_quoted(t.name) for t in tables) + " CASCADE")
            indexes = secondary_indexes(target)
            for name, _ in indexes:
                target.execute(f"DROP INDEX {_quoted(name)}")
            for table in tables:
                counts[table.name] = copy_table(source, target, table)
                log(f"  {table.name}: {counts[table.name]:,} rows "
                    f"({time.perf_counter() - started:.0f} s)")
            reset_sequences(target, tables)
            for _, definition in indexes:
                target.execute(definition)
            log(f"  {len(indexes)} indexes made again ({time.perf_counter() - started:.0f} s)")
    finally:
        source.close()
    with psycopg.connect(libpq_conninfo(database_url), autocommit=True) as target:
        target.execute("VACUUM (ANALYZE)")
    log(f"  VACUUM (ANALYZE) done ({time.perf_counter() - started:.0f} s)")
    return counts


def compare(sqlite_path: Path, database_url: str) -> list[str]:
    """What differs between the two databases: counts per table, then sampled rows."""
    problems: list[str] = []
    source, target = make_engine(f"sqlite:///{sqlite_path}"), make_engine(database_url)
    try:
        with source.connect() as left, target.connect() as right:
            for table in SQLModel.metadata.sorted_tables:
                problems += _compare_table(left, right, table)
    finally:
        source.dispose()
        target.dispose()
    return problems


def _compare_table(left: Any, right: Any, table: Table) -> list[str]:
    """Row count, then SAMPLE_ROWS rows picked by primary key, equal on both sides."""
    from sqlalchemy import func

    counted = [side.execute(select(func.count()).select_from(table)).scalar_one()
               for side in (left, right)]
    if counted[0] != counted[1]:
        return [f"{table.name}: {counted[0]} rows in SQLite, {counted[1]} in PostgreSQL"]
    key = list(table.primary_key.columns)
    keys = left.execute(select(*key)).all()
    problems = []
    for wanted in random.Random(len(keys)).sample(keys, min(SAMPLE_ROWS, len(keys))):
        where = [column == value for column, value in zip(key, wanted, strict=True)]
        rows = [side.execute(select(table).where(*where)).one() for side in (left, right)]
        if tuple(rows[0]) != tuple(rows[1]):
            problems.append(f"{table.name} {tuple(wanted)}: {tuple(rows[0])} != {tuple(rows[1])}")
    return problems


def main() -> None:
    """Copy, then compare."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sqlite", type=Path)
    parser.add_argument("database_url")
    args = parser.parse_args()
    counts = copy_database(args.sqlite, args.database_url)
    problems = compare(args.sqlite, args.database_url)
    print(f"{sum(counts.values()):,} rows copied; "
          + ("identical counts and sampled rows" if not problems else "\n".join(problems)))
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
