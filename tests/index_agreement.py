"""Row-by-row comparison of SQLite's R*Tree and FTS5 indexes with the organisation table."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def float32_step(value: float) -> float:
    """An upper bound of the gap between two 32-bit floats around `value`."""
    return max(abs(value), 1e-30) * 2.0**-22


def rtree_disagreements(connection: sqlite3.Connection) -> list[str]:
    """Structures whose R*Tree box is missing, extra, or does not hold their point tightly."""
    problems = []
    for row in connection.execute(
        "SELECT o.id, o.lat, o.lon, r.id, r.min_lat, r.max_lat, r.min_lon, r.max_lon "
        "FROM organisation o LEFT JOIN organisation_rtree r ON r.id = o.id"
    ):
        row_id, lat, lon, box_id, min_lat, max_lat, min_lon, max_lon = row
        if box_id is None:
            problems.append(f"{row_id}: no box")
        elif not (min_lat <= lat <= max_lat and min_lon <= lon <= max_lon):
            problems.append(f"{row_id}: ({lat}, {lon}) outside its box")
        elif max_lat - min_lat > float32_step(lat) or max_lon - min_lon > float32_step(lon):
            problems.append(f"{row_id}: box wider than float32 rounding")
    extra = connection.execute("SELECT id FROM organisation_rtree "
                               "WHERE id NOT IN (SELECT id FROM organisation)").fetchall()
    return problems + [f"{row_id}: box of no structure" for (row_id,) in extra]


def expected_document(search_text: str, categories: str) -> str:
    """What the FTS index must hold for a structure: its folded text and sector words."""
    return f"{search_text} {categories.replace('|', ' ').replace('-', ' ')}"


def fts_disagreements(connection: sqlite3.Connection) -> list[str]:
    """Structures whose indexed trigrams differ from those of their folded text."""
    connection.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.indexed_terms "
                       "USING fts5vocab(main, organisation_fts, instance)")
    indexed: dict[int, set[tuple[str, int]]] = {}
    for term, row_id, _column, offset in connection.execute("SELECT * FROM indexed_terms"):
        indexed.setdefault(row_id, set()).add((term, offset))
    problems = []
    for row_id, text, categories in connection.execute(
            "SELECT id, search_text, categories FROM organisation"):
        document = expected_document(text, categories).lower()
        expected = {(document[i:i + 3], i) for i in range(len(document) - 2)}
        if indexed.pop(row_id, set()) != expected:
            problems.append(f"{row_id}: indexed text is not {document!r}")
    return problems + [f"{row_id}: indexed, not stored" for row_id in indexed]


def index_disagreements(database: Path) -> list[str]:
    """Every disagreement between the organisation table and its two indexes."""
    with sqlite3.connect(database) as connection:
        return rtree_disagreements(connection) + fts_disagreements(connection)
