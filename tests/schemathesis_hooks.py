"""schemathesis hooks for tests/test_openapi.py (loaded through SCHEMATHESIS_HOOKS).

Two rules are stated in the OpenAPI document's words but cannot be written as JSON
Schema, so schemathesis would call queries that break them valid and count their 400 as a
failure; generated queries breaking them are dropped:
- a bbox must have minLat <= maxLat (no pattern can compare two numbers);
- `q` needs 3 characters once accents, case and surrounding spaces are removed, and no NUL;
- /api/basemap/communes takes a box of at most 3° each way (its description says so).
"""

from __future__ import annotations

from typing import Any

import schemathesis

from app.commune_names import MAX_BOX_DEGREES, box_span
from app.queries import MIN_TEXT_LENGTH
from app.spatial import BBox
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


def small_enough_for_names(bbox: str) -> bool:
    """False only for a well-formed bbox wider or taller than commune names allow."""
    try:
        box = BBox(*(float(part) for part in bbox.split(",")))
    except (TypeError, ValueError):
        return True
    return max(box_span(box)) <= MAX_BOX_DEGREES


@schemathesis.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    """Drop the queries breaking a rule the schema cannot state (see the module docstring)."""
    query = query or {}
    bbox = query.get("bbox")
    if isinstance(bbox, str) and not latitudes_in_order(bbox):
        return False
    path = getattr(getattr(context, "operation", None), "path", "")
    if path == "/api/basemap/communes" and isinstance(bbox, str):
        return small_enough_for_names(bbox)
    return text_is_searchable(query.get("q"))
