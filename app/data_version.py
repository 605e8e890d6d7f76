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

from sqlalchemy import Connection, func, select

from app.models import Deletion, Organisation
from app.storage import table_of

_ORGANISATION = table_of(Organisation)
_DELETION = table_of(Deletion)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def data_version(connection: Connection) -> DataVersion:
    """The current data version of the database behind `connection`."""
    largest_id, updated = connection.execute(
        select(func.max(_ORGANISATION.c.id), func.max(_ORGANISATION.c.updated_at))).one()
    last_deletion, deleted = connection.execute(
        select(func.max(_DELETION.c.id), func.max(_DELETION.c.deleted_at))).one()
    modified = max(_aware(updated), _aware(deleted))
    marker = f"{largest_id}|{modified.isoformat()}|{last_deletion}|{connection.engine.url}"
    tag = hashlib.blake2b(marker.encode(), digest_size=10).hexdigest()
    return DataVersion(tag=tag, modified=modified)
