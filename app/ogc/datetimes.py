"""The `datetime` parameter of OGC API – Features: an RFC 3339 instant or interval.

`2024-05-01`, `2024-05-01T10:00:00Z`, `start/end`, `../end`, `start/..`, `/end`, `start/`.
An instant or an end covers its whole unit: a date its day, a time without fraction its
second, so `../2024-05-01` includes all of 1 May. Times must carry their offset (`Z` or
`+02:00`), as RFC 3339 requires.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.errors import InvalidParameter

_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_MOMENT = re.compile(
    rf"(?P<date>{_DATE})"
    r"(?:[Tt](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})(?P<fraction>\.[0-9]{1,6})?"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2}))?"
)
_OPEN = ("", "..")
_MICROSECOND = timedelta(microseconds=1)
Interval = tuple[datetime | None, datetime | None]


def _invalid(message: str, parameter: str = "datetime") -> InvalidParameter:
    return InvalidParameter(f"{parameter}: {message}", parameter=parameter)


def _start_and_unit(text: str, parameter: str = "datetime") -> tuple[datetime, timedelta]:
    """The first microsecond a written moment covers, and how long it lasts."""
    match = _MOMENT.fullmatch(text)
    if match is None:
        raise _invalid(f"{text!r} is not an RFC 3339 date (2024-05-01) or date-time "
                       "(2024-05-01T10:00:00Z)", parameter)
    try:
        if match["time"] is None:
            day = datetime.fromisoformat(match["date"]).replace(tzinfo=UTC)
            return day, timedelta(days=1)
        offset = "+00:00" if match["offset"] in ("Z", "z") else match["offset"]
        moment = datetime.fromisoformat(
            f"{match['date']}T{match['time']}{match['fraction'] or ''}{offset}")
    except ValueError:
        raise _invalid(f"{text!r} is not a real date or time", parameter) from None
    return moment.astimezone(UTC), _MICROSECOND if match["fraction"] else timedelta(seconds=1)


def _first(text: str) -> datetime:
    return _start_and_unit(text)[0]


def parse_since(text: str) -> datetime:
    """`updated_since`: the first moment an RFC 3339 date or date-time covers."""
    return _start_and_unit(text, "updated_since")[0]


def _last(text: str) -> datetime:
    start, unit = _start_and_unit(text)
    return start + unit - _MICROSECOND


def parse_datetime(text: str) -> Interval:
    """The closed interval of updated_at a `datetime` value stands for (None: open)."""
    if "/" not in text:
        return _first(text), _last(text)
    if text.count("/") > 1:
        raise _invalid(f"an interval has one '/', got {text!r}")
    start, _, end = text.partition("/")
    interval = (None if start in _OPEN else _first(start), None if end in _OPEN else _last(end))
    if interval == (None, None):
        raise _invalid("an interval needs at least one end")
    if interval[0] is not None and interval[1] is not None and interval[0] > interval[1]:
        raise _invalid(f"the interval {text!r} ends before it starts")
    return interval
