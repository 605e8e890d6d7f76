"""schemathesis hooks for tests/test_openapi.py (loaded through SCHEMATHESIS_HOOKS).

A bbox must have minLat <= maxLat. The OpenAPI document says so in words, but no JSON
Schema pattern can compare two numbers, so schemathesis would call such boxes valid and
count their 400 as a failure. Generated queries breaking that one rule are dropped.
"""

from __future__ import annotations

from typing import Any

import schemathesis


def latitudes_in_order(bbox: str) -> bool:
    """False only for a well-formed bbox whose minLat exceeds its maxLat."""
    parts = bbox.split(",")
    try:
        return len(parts) != 4 or float(parts[1]) <= float(parts[3])
    except ValueError:
        return True


@schemathesis.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    """Keep every query but those with a bbox whose latitudes are upside down."""
    bbox = (query or {}).get("bbox")
    return not isinstance(bbox, str) or latitudes_in_order(bbox)
