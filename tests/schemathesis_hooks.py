"""schemathesis hooks for tests/test_openapi.py (loaded through SCHEMATHESIS_HOOKS).

A bbox must have minLat <= maxLat. The OpenAPI document says so in words, but no JSON
Schema pattern can compare two numbers, so schemathesis would call such boxes valid and
count their 400 as a failure. Generated queries breaking that one rule are dropped, and so
are those breaking the other rules no schema keyword states: `q` has at least 3 characters
once folded and no NUL; `after` pages in id order, never with `sort=relevance`.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from app.deps import MIN_TEXT_LENGTH
from geocode.normalize import fold


def latitudes_in_order(bbox: str) -> bool:
    """False only for a well-formed bbox whose minLat exceeds its maxLat."""
    parts = bbox.split(",")
    try:
        return len(parts) != 4 or float(parts[1]) <= float(parts[3])
    except ValueError:
        return True


def text_is_searchable(q: object) -> bool:
    """False for a text query the API refuses: under 3 characters once folded, or a NUL."""
    if not isinstance(q, str) or not q.strip():
        return True
    return "\x00" not in q and len(fold(q.strip())) >= MIN_TEXT_LENGTH


@schemathesis.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    """Drop the queries breaking a rule the schema cannot state (see the module docstring)."""
    query = query or {}
    bbox = query.get("bbox")
    if isinstance(bbox, str) and not latitudes_in_order(bbox):
        return False
    if query.get("sort") == "relevance" and query.get("after") is not None:
        return False
    return text_is_searchable(query.get("q"))
