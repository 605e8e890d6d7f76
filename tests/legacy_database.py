"""A database as ess-atlas made it before schema migrations: the first release's schema, with rows.

The schema comes from tests/fixtures/schema_before_migrations.sql (what that build's
create_all and SQLite extras made), the rows from plain SQL, so neither follows later
changes of the models. The triggers fill the R*Tree and FTS5 index as that build's did;
the aggregates are left empty (a build of that time back-filled them on start).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = Path(__file__).parent / "fixtures" / "schema_before_migrations.sql"
# Left out of the comparison: derived rows (aggregates, the virtual tables' shadow tables).
DERIVED = ("organisation_cell", "category_set", "organisation_rtree", "organisation_fts")
ROWS = """
INSERT INTO organisation (id, key, name, description, legal_form, siret, street, postcode, city,
 country, lat, lon, citycode, departement, region, geocode_precision, geocode_source,
 contact_name, internal_notes, rna, categories, search_text, content_hash, created_at, updated_at)
 VALUES
 (1, 'siret:41234567800011', 'Atelier Vélo Solidaire', 'Réparation de vélos', 'ASSOCIATION',
  '41234567800011', '3 rue de la Roue', '69001', 'Lyon', 'FR', 45.7676, 4.8344, '69381', '69',
  '84', 'housenumber', 'ban', 'Camille', 'note', 'W691234567', 'reemploi|environnement',
  'atelier velo solidaire', 'h1', '2026-03-01 10:00:00.000000', '2026-03-02 11:00:00.000000'),
 (2, 'source:annuaire:42', 'Coopérative des Pentes', NULL, 'COOPERATIVE', NULL, NULL, '69001',
  'Lyon', 'FR', 45.7700, 4.8300, '69381', '69', '84', 'municipality', 'gazetteer', NULL, NULL,
  NULL, 'cooperatives-activite', 'cooperative des pentes', 'h2', '2026-03-01 10:00:00.000000',
  '2026-03-01 10:00:00.000000'),
 (3, 'name:jardin partage|04112', 'Jardin Partagé', NULL, NULL, NULL, NULL, '04270', 'Majastres',
  'FR', 43.9100, 6.2900, '04112', '04', '93', 'municipality', 'gazetteer', NULL, NULL, NULL,
  'environnement', 'jardin partage', 'h3', '2026-03-01 10:00:00.000000',
  '2026-03-01 10:00:00.000000');
INSERT INTO organisation_category VALUES (1, 'reemploi'), (1, 'environnement'),
 (2, 'cooperatives-activite'), (3, 'environnement');
INSERT INTO suppression VALUES ('siret:99999999900019', 'Supprimée', '2026-03-03 09:00:00.000000');
INSERT INTO import_run (id, origin, mode, status, files, rows_expected, rows_processed,
 rows_committed, batches_committed, started_at, finished_at, message, report, rejected_csv)
 VALUES ('run1', 'cli', 'write', 'finished', '["a.csv"]', 3, 3, 3, 1,
 '2026-03-01 10:00:00.000000', '2026-03-01 10:00:01.000000', NULL, '{}', NULL);
INSERT INTO duplicate_candidate VALUES (1, 1, 2, 'same-name-nearby', 420.5, 'pending',
 '2026-03-01 10:00:02.000000', NULL);
INSERT INTO duplicate_check_pending VALUES (3);
INSERT INTO duplicate_name VALUES (1, 'atelier velo solidaire', 'atlrvlsldr', '69381', '', 10,
 'atlr', 'sldr');
INSERT INTO duplicate_check_state VALUES (1, 2);
"""


def make_first_release_database(path: Path) -> None:
    """Create, at `path`, a database of the first release's schema holding a few rows."""
    connection = sqlite3.connect(path)
    with connection:
        connection.executescript(SCHEMA.read_text(encoding="utf-8"))
        connection.executescript(ROWS)
    connection.close()


def first_release_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every first-release table but the aggregates, in the columns of that time."""
    connection = sqlite3.connect(path)
    try:
        return {table: connection.execute(
            f"SELECT {', '.join(columns)} FROM {table} ORDER BY {', '.join(columns)}"  # noqa: S608
        ).fetchall() for table, columns in first_release_columns().items()}
    finally:
        connection.close()


def first_release_columns() -> dict[str, list[str]]:
    """The tables of the first release (aggregates aside) and their columns."""
    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(SCHEMA.read_text(encoding="utf-8"))
        tables = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE TABLE%'")]
        return {table: [f'"{row[1]}"' for row in connection.execute(
            f"PRAGMA table_info({table})")] for table in tables
                if not table.startswith(DERIVED)}
    finally:
        connection.close()
