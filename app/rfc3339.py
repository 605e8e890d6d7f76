"""RFC 3339 moments in query parameters (`updated_since`, `since`, OGC `datetime`): one reader.

A date alone (`2024-05-01`) is its day from midnight UTC. A date-time (`T`, `t` or a space
between) has seconds, any fraction (read to the microsecond) and `Z` or `±hh:mm`; without
an offset it is UTC. A `+` left unencoded in a URL arrives as a space: ` 02:00` is read as
`+02:00`. A leap second counts as :59; year 0 as year 1 and the ends of Python's
calendar clamp, since nothing is stored that early or that late.

Each moment also says how long it lasts (a day, a second, or a microsecond when written
with a fraction), so the end of an interval can cover the whole of what was written.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from app.errors import InvalidParameter

_MOMENT = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?:[Tt ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?P<fraction>\.[0-9]+)?(?P<offset>[Zz]|[+\- ][0-9]{2}:[0-9]{2})?)?"
)
MICROSECOND = timedelta(microseconds=1)
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def _invalid(parameter: str, message: str) -> InvalidParameter:
    """A 400 naming the parameter."""
    return InvalidParameter(f"{parameter}: {message}", parameter=parameter)


def _zone(text: str | None, parameter: str) -> timezone:
    """`Z`, none (UTC) or `±hh:mm` (hours 00-23, minutes 00-59) as a time zone."""
    if text is None or text in ("Z", "z"):
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 23 or minutes > 59:
        raise _invalid(parameter, f"the offset {text.strip()!r} is not a time zone offset "
                                  "(hours 00-23, minutes 00-59)")
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _in_utc(local: datetime) -> datetime:
    """The same moment in UTC; clamped within a day of the ends of Python's calendar."""
    try:
        return local.astimezone(UTC)
    except OverflowError:
        return EARLIEST if local.year == 1 else LATEST


def moment_and_length(text: str, parameter: str) -> tuple[datetime, timedelta]:
    """The first microsecond (UTC) a written moment covers, and how long it lasts."""
    match = _MOMENT.fullmatch(text.strip())
    if match is None:
        raise _invalid(parameter, f"{text!r} is not an RFC 3339 date (2024-05-01) or "
                                  "date-time (2024-05-01T10:00:00Z)")
    zone = _zone(match["offset"], parameter)
    fraction = match["fraction"]
    try:
        local = datetime(
            max(int(match["year"]), 1), int(match["month"]), int(match["day"]),
            int(match["hour"] or 0), int(match["minute"] or 0), min(int(match["second"] or 0), 59),
            int((fraction or ".")[1:7].ljust(6, "0")), tzinfo=zone)
    except ValueError:
        raise _invalid(parameter, f"{text!r} is not a real date or time") from None
    if match["hour"] is None:
        return _in_utc(local), timedelta(days=1)
    return _in_utc(local), MICROSECOND if fraction else timedelta(seconds=1)


def parse_instant(text: str, parameter: str) -> datetime:
    """The first moment (UTC) an RFC 3339 date or date-time covers."""
    return moment_and_length(text, parameter)[0]


def parse_last(text: str, parameter: str) -> datetime:
    """The last microsecond (UTC) an RFC 3339 date or date-time covers."""
    start, length = moment_and_length(text, parameter)
    return start + (length - MICROSECOND) if start <= LATEST - length else LATEST
