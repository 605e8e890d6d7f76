"""The data version: a marker that changes whenever a structure is added, changed or removed.

Read from three index lookups (the largest id, the latest `updated_at`, the latest
deletion), so it costs the same at 1,000,000 structures as at ten. Every write path
moves one of them: an insert raises the largest id and `updated_at`, an update raises
`updated_at`, a delete or merge adds a `deletion` row. ETags and the materialised
exports are keyed on it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from app.models import Deletion, Organisation
from app.storage import table_of

_ORGANISATION = table_of(Organisation)
_DELETION = table_of(Deletion)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MARKERS = (_ORGANISATION.c.id, _ORGANISATION.c.updated_at, _DELETION.c.id,
            _DELETION.c.deleted_at)


@dataclass(frozen=True)
class DataVersion:
    """What identifies the stored data now, and when it last changed."""

    tag: str
    modified: datetime


def _aware(moment: datetime | None) -> datetime:
    """A stored (naive UTC on SQLite) time as aware UTC; the epoch for none."""
    if moment is None:
        return _EPOCH
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def version_query() -> Select[Any]:
    """The four maxima the version is made of, each read from the end of an index."""
    # One scalar subquery per maximum: SQLite reads a lone max() from the end of an index,
    # but scans the whole table for two max() in one SELECT.
    return select(*(select(func.max(column)).scalar_subquery() for column in _MARKERS))


# Built once: every request reads the version, and building the statement cost as much
# as running it.
_VERSION_QUERY = version_query()


def data_version(connection: Connection) -> DataVersion:
    """The current data version of the database behind `connection`."""
    largest_id, updated, last_deletion, deleted = connection.execute(_VERSION_QUERY).one()
    modified = max(_aware(updated), _aware(deleted))
    marker = f"{largest_id}|{modified.isoformat()}|{last_deletion}|{connection.engine.url}"
    tag = hashlib.blake2b(marker.encode(), digest_size=10).hexdigest()
    return DataVersion(tag=tag, modified=modified)
