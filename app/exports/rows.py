"""The rows an export writes: public rows matching the filters, batch by batch in id order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import Engine
from sqlmodel import Session

from app import queries
from app.queries import OrganisationFilter, PublicRow

# Rows read per query: large enough to amortise a query, small enough to bound memory.
BATCH_ROWS = 2_000


def row_batches(
    engine: Engine, filters: OrganisationFilter, batch_rows: int = BATCH_ROWS
) -> Iterator[Sequence[PublicRow]]:
    """Every matching row, in keyset-paged batches (each query index-driven, none deep)."""
    with Session(engine) as session:
        after: int | None = None
        while True:
            page = queries.organisations_page(
                session=session, filters=filters, limit=batch_rows, after=after)
            if page.rows:
                yield page.rows
            if page.next_after is None:
                return
            after = page.next_after
