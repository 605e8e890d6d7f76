"""GET /api/deletions?since=: the structures that left the directory, for mirrors.

With `/api/organisations?updated_since=`, a mirror stays in step: what was added or
changed, and what was deleted or merged into another structure (and into which).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select

from app import http_cache
from app.deps import (
    SQLITE_INTEGER_MAX,
    Integer,
    SessionDep,
    SettingsDep,
    check_limit,
    only_parameters,
)
from app.geojson import json_value
from app.links import same_route_href
from app.models import Deletion
from app.rfc3339 import parse_instant
from app.storage import table_of

router = APIRouter(prefix="/api", tags=["organisations"])
_DELETION = table_of(Deletion)


@router.get(
    "/deletions",
    responses={304: {"description": "Not modified (If-None-Match)"}},
    dependencies=[Depends(only_parameters("since", "limit", "after"))],
)
def deletions(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    since: Annotated[str, Query(description="RFC 3339 date-time: deletions at or after it",
                                json_schema_extra={"format": "date-time"})],
    limit: Annotated[Integer | None, Query(ge=1, description="Page size")] = None,
    after: Annotated[
        Integer | None, Query(ge=0, le=SQLITE_INTEGER_MAX, description="Last deletion id "
                              "of the previous page")] = None,
) -> Response:
    """Structures deleted or merged since `since`, oldest first, keyset-paged."""
    validators = http_cache.request_validators(request, session.connection())
    if unchanged := http_cache.not_modified(request, validators):
        return unchanged
    start = parse_instant(since, "since")
    size = check_limit(limit, settings) if limit is not None else settings.default_page_size
    conditions = [_DELETION.c.deleted_at >= start]
    query = select(_DELETION).where(*conditions, _DELETION.c.id > (after or 0)).order_by(
        _DELETION.c.id).limit(size + 1)
    rows = session.connection().execute(query).mappings().all()
    matched = session.connection().execute(
        select(func.count()).select_from(_DELETION).where(*conditions)).scalar_one()
    page = [_entry(row) for row in rows[: size]]
    links = []
    if len(rows) > size:
        href = same_route_href(request, settings, after=page[-1]["id"])
        links.append({"rel": "next", "type": "application/json", "href": href})
    body = {"deletions": page, "numberMatched": matched, "numberReturned": len(page),
            "links": links}
    return JSONResponse(body, headers=validators)


def _entry(row: Any) -> dict[str, Any]:
    """One deletion as the feed shows it."""
    return {"id": row["id"], "organisation_id": row["organisation_id"],
            "reason": str(row["reason"]), "merged_into": row["merged_into"],
            "deleted_at": json_value(row["deleted_at"])}
