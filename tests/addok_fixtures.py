"""A real addok (+ Redis) for the tests under tests/, and a count of what it was asked.

tests/geocode has its own session addok in its conftest; test modules here import these
fixtures (`from tests.addok_fixtures import addok_service_fixture, addok_url_fixture`).
The fixtures keep the names `addok_service` and `addok_url`, so the `addok` marker of
tests/geocode/conftest.py applies to them too; modules also mark their tests explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.geocode.addok_service import FIXTURE_NDJSON, AddokService, AddokSetupError

# addok serve logs one line per request it answers, before sending the body.
_REQUEST_LINE = re.compile(r'"((?:GET|POST) /(?:search|reverse)\S*) HTTP/')


@pytest.fixture(scope="session", name="addok_service")
def addok_service_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AddokService]:
    """Addok serving tests/fixtures/addok/addresses.ndjson; fails (never skips) if it cannot."""
    service = AddokService(FIXTURE_NDJSON, tmp_path_factory.mktemp("app-addok"))
    try:
        service.start()
    except AddokSetupError as exc:
        service.stop()
        pytest.fail(f"the real addok could not be started: {exc}", pytrace=False)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session", name="addok_url")
def addok_url_fixture(addok_service: AddokService) -> str:
    """Base URL of the session's addok, e.g. http://127.0.0.1:40123."""
    return addok_service.base_url


def addok_requests(service: AddokService) -> list[str]:
    """Searches addok answered so far, as it logged them ("POST /search/csv", "GET /search?…")."""
    log = (service.workdir / "addok-serve.log").read_text(encoding="utf-8", errors="replace")
    return _REQUEST_LINE.findall(log)
