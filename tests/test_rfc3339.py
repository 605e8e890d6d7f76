"""RFC 3339 moments (app/rfc3339.py): the one reader of updated_since, since and datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app.errors import InvalidParameter
from app.rfc3339 import EARLIEST, LATEST, moment_and_length, parse_last

TEN_UTC = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
SECOND, MICRO = timedelta(seconds=1), timedelta(microseconds=1)


@pytest.mark.parametrize(("text", "moment", "length"), [
    ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC), timedelta(days=1)),
    ("2024-05-01T10:00:00Z", TEN_UTC, SECOND),
    ("2024-05-01t10:00:00z", TEN_UTC, SECOND),
    ("2024-05-01 10:00:00Z", TEN_UTC, SECOND),
    ("2024-05-01T12:00:00+02:00", TEN_UTC, SECOND),
    ("2024-05-01T05:30:00-04:30", TEN_UTC, SECOND),
    ("2024-05-01T12:00:00 02:00", TEN_UTC, SECOND),  # a `+` the URL did not encode
    ("2024-05-01T10:00:00", TEN_UTC, SECOND),  # no offset: UTC
    (" 2024-05-01T10:00:00Z ", TEN_UTC, SECOND),
    ("2024-05-01T10:00:00.5Z", TEN_UTC.replace(microsecond=500_000), MICRO),
    ("2024-05-01T10:00:00.1234567Z", TEN_UTC.replace(microsecond=123_456), MICRO),
    ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC), SECOND),
    ("0000-01-01", datetime(1, 1, 1, tzinfo=UTC), timedelta(days=1)),
    ("0001-01-01T00:00:00+01:00", EARLIEST, SECOND),
    ("9999-12-31T23:59:59-01:00", LATEST, SECOND),
])
def test_a_moment_is_read_in_utc_with_its_length(
    text: str, moment: datetime, length: timedelta,
) -> None:
    assert moment_and_length(text, "since") == (moment, length)


@pytest.mark.parametrize(("text", "last"), [
    ("2024-05-01", datetime(2024, 5, 1, 23, 59, 59, 999_999, tzinfo=UTC)),
    ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, 0, 0, 999_999, tzinfo=UTC)),
    ("2024-05-01T10:00:00.5Z", TEN_UTC.replace(microsecond=500_000)),
    ("9999-12-31", LATEST),
])
def test_the_last_moment_covers_what_was_written(text: str, last: datetime) -> None:
    assert parse_last(text, "datetime") == last


@pytest.mark.parametrize(("text", "message"), [
    ("yesterday", "'yesterday' is not an RFC 3339 date (2024-05-01) or date-time"),
    ("2024-5-1", "'2024-5-1' is not an RFC 3339 date"),
    ("2024-05-01T10:00Z", "'2024-05-01T10:00Z' is not an RFC 3339 date"),
    ("2024-05-01T10:00:00+0200", "'2024-05-01T10:00:00+0200' is not an RFC 3339 date"),
    ("2024-02-30", "'2024-02-30' is not a real date or time"),
    ("2024-05-01T24:00:00Z", "'2024-05-01T24:00:00Z' is not a real date or time"),
    ("2024-05-01T10:00:00+24:00", "the offset '+24:00' is not a time zone offset"),
    ("2024-05-01T10:00:00-02:60", "the offset '-02:60' is not a time zone offset"),
])
def test_what_is_no_moment_is_refused_naming_the_parameter(text: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        moment_and_length(text, "updated_since")
    assert refused.value.parameter == "updated_since"
    assert str(refused.value.message).startswith(f"updated_since: {message}")


@pytest.mark.parametrize(("path", "parameter"), [
    ("/api/organisations", "updated_since"),
    ("/api/deletions", "since"),
    ("/api/exports/organisations.csv", "updated_since"),
    ("/ogc/collections/organisations/items", "updated_since"),
    ("/ogc/collections/organisations/items", "datetime"),
])
def test_every_date_parameter_is_read_by_the_same_rules(
    client: TestClient, path: str, parameter: str,
) -> None:
    response = client.get(path, params={parameter: "2024-05-01T10:00:00+25:00"})
    assert (response.status_code, response.headers["content-type"]) == (400, "application/json")
    error = response.json()["error"]
    assert (error["code"], error["parameter"]) == ("invalid_parameter", parameter)
    assert error["message"] == (f"{parameter}: the offset '+25:00' is not a time zone offset "
                                "(hours 00-23, minutes 00-59)")
