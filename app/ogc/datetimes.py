"""The `datetime` parameter of OGC API – Features: an RFC 3339 instant or interval.

`2024-05-01`, `2024-05-01T10:00:00Z`, `start/end`, `../end`, `start/..`, `/end`, `start/`.
Each moment is read by app/rfc3339.py (the reader of every date parameter). An instant or
an end covers its whole unit: a date its day, a time without fraction its second, so
`../2024-05-01` includes all of 1 May.
"""

from __future__ import annotations

from datetime import datetime

from app.errors import InvalidParameter
from app.rfc3339 import parse_instant, parse_last

PARAMETER = "datetime"
_OPEN = ("", "..")
Interval = tuple[datetime | None, datetime | None]


def _invalid(message: str) -> InvalidParameter:
    return InvalidParameter(f"{PARAMETER}: {message}", parameter=PARAMETER)


def parse_datetime(text: str) -> Interval:
    """The closed interval of updated_at a `datetime` value stands for (None: open)."""
    if "/" not in text:
        return parse_instant(text, PARAMETER), parse_last(text, PARAMETER)
    if text.count("/") > 1:
        raise _invalid(f"an interval has one '/', got {text!r}")
    start, _, end = text.partition("/")
    interval = (None if start in _OPEN else parse_instant(start, PARAMETER),
                None if end in _OPEN else parse_last(end, PARAMETER))
    if interval == (None, None):
        raise _invalid("an interval needs at least one end")
    if interval[0] is not None and interval[1] is not None and interval[0] > interval[1]:
        raise _invalid(f"the interval {text!r} ends before it starts")
    return interval
