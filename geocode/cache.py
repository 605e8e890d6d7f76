"""A persistent SQLite cache of geocoding answers, "not found" included, per geocoder.

Only definitive answers are kept: a result, PlaceNotFound or AmbiguousPlace. Transient
failures (unavailable, rate limited, bad response) are never cached, so a later run asks
again. Keys are the folded query, so "SAINT-ÉTIENNE" and "Saint-Etienne" share one entry.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from geocode.base import AddressQuery, AmbiguousPlace, GeocodeResult, PlaceNotFound, Precision
from geocode.normalize import fold

CachedAnswer = GeocodeResult | PlaceNotFound | AmbiguousPlace

SCHEMA = """
CREATE TABLE IF NOT EXISTS geocode_answers (
    geocoder TEXT NOT NULL,
    query_key TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('found', 'not_found', 'ambiguous')),
    payload TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    PRIMARY KEY (geocoder, query_key)
) WITHOUT ROWID
"""

UPSERT = """
INSERT INTO geocode_answers (geocoder, query_key, outcome, payload, stored_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (geocoder, query_key) DO UPDATE SET
    outcome = excluded.outcome, payload = excluded.payload, stored_at = excluded.stored_at
"""

SELECT = "SELECT outcome, payload FROM geocode_answers WHERE geocoder = ? AND query_key = ?"


@dataclass(frozen=True)
class CacheStats:
    """Lookups answered from the cache (hits), not answered (misses), and stored entries."""

    hits: int
    misses: int
    entries: int


def query_key(query: AddressQuery) -> str:
    """Return the normalised key of `query`: folded street, postcode, city, citycode, country."""
    parts = (query.street, query.postcode, query.city, query.citycode, query.country)
    return "|".join(fold(part or "") for part in parts)


def _encode(answer: CachedAnswer) -> tuple[str, str]:
    """Return (outcome, JSON payload) for an answer."""
    if isinstance(answer, GeocodeResult):
        return "found", json.dumps(asdict(answer), ensure_ascii=False)
    if isinstance(answer, AmbiguousPlace):
        return "ambiguous", json.dumps({"message": str(answer)}, ensure_ascii=False)
    if isinstance(answer, PlaceNotFound):
        return "not_found", json.dumps({"message": str(answer)}, ensure_ascii=False)
    raise TypeError(f"only results, PlaceNotFound and AmbiguousPlace are cached, not {answer!r}")


def _decode(outcome: str, payload: str) -> CachedAnswer:
    """Rebuild the answer stored as (outcome, payload)."""
    fields = json.loads(payload)
    if outcome == "ambiguous":
        return AmbiguousPlace(fields["message"])
    if outcome == "not_found":
        return PlaceNotFound(fields["message"])
    fields["precision"] = Precision(fields["precision"])
    fields["notes"] = tuple(fields["notes"])
    return GeocodeResult(**fields)


class GeocodeCache:
    """Answers already obtained, in one SQLite table (WAL), safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute(SCHEMA)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._connection.close()

    def get(self, query: AddressQuery, geocoder: str) -> CachedAnswer | None:
        """Return the answer `geocoder` gave for `query`, or None when it was never asked."""
        with self._lock:
            row = self._connection.execute(SELECT, (geocoder, query_key(query))).fetchone()
            if row is None:
                self._misses += 1
                return None
            self._hits += 1
        return _decode(row[0], row[1])

    def put(self, query: AddressQuery, geocoder: str, answer: CachedAnswer) -> None:
        """Store the answer `geocoder` gave for `query`, replacing an older one."""
        self.put_many(geocoder, [(query, answer)])

    def put_many(self, geocoder: str, answers: Iterable[tuple[AddressQuery, CachedAnswer]]) -> None:
        """Store several answers in one transaction (used by batch imports)."""
        stored_at = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [
            (geocoder, query_key(query), *_encode(answer), stored_at) for query, answer in answers
        ]
        with self._lock, self._transaction():
            self._connection.executemany(UPSERT, rows)

    def stats(self) -> CacheStats:
        """Count hits and misses since opening, and the entries stored."""
        with self._lock:
            (entries,) = self._connection.execute("SELECT count(*) FROM geocode_answers").fetchone()
            return CacheStats(hits=self._hits, misses=self._misses, entries=entries)

    def _transaction(self) -> sqlite3.Connection:
        """Use the connection as a transaction: BEGIN now, COMMIT or ROLLBACK on exit."""
        self._connection.execute("BEGIN IMMEDIATE")
        return self._connection
