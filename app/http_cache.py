"""Conditional GET: ETags from the data version, `If-None-Match` answered with 304.

A collection or item answer depends on the data and on the request's URL, so its ETag is
a digest of both, known before any query runs: a client that already has the answer gets
304 for the price of three index lookups. The ETags are weak (`W/`) because the same
answer goes out gzipped or not.
"""

from __future__ import annotations

import hashlib
from email.utils import format_datetime

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from app.data_version import DataVersion, data_version


def entity_tag(version: DataVersion, *parts: str) -> str:
    """A weak ETag for an answer built from this data version and these parts."""
    digest = hashlib.blake2b(digest_size=12)
    for part in (version.tag, *parts):
        digest.update(part.encode() + b"\x00")
    return f'W/"{digest.hexdigest()}"'


def _opaque(tag: str) -> str:
    """The quoted part of an entity tag (weak comparison ignores `W/`)."""
    return tag.strip().removeprefix("W/")


def matches(if_none_match: str | None, tag: str) -> bool:
    """True when an If-None-Match header names this tag (weak comparison) or is `*`."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return _opaque(tag) in {_opaque(each) for each in if_none_match.split(",")}


def validators(tag: str, version: DataVersion) -> dict[str, str]:
    """The ETag and Last-Modified headers of an answer."""
    return {"ETag": tag, "Last-Modified": format_datetime(version.modified, usegmt=True)}


def request_validators(request: Request, connection: Connection,
                       *varying: str) -> dict[str, str]:
    """ETag (data version, path, query, what else it varies with) and Last-Modified."""
    version = data_version(connection)
    return validators(entity_tag(version, request.url.path, request.url.query, *varying),
                      version)


def not_modified(request: Request, headers: dict[str, str]) -> Response | None:
    """304 with the validators when the client's If-None-Match holds this ETag, else None."""
    if matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return None
