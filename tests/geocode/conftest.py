"""Session fixtures for the geocode tests: a real addok (+ Redis) on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from addok_service import FIXTURE_NDJSON, AddokService, AddokSetupError

ADDOK_FIXTURES = frozenset({"addok_service", "addok_url"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the real addok, so `-m "not addok"` can leave them out."""
    for item in items:
        if ADDOK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.addok)


@pytest.fixture(scope="session")
def addok_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AddokService]:
    """Addok serving tests/fixtures/addok/addresses.ndjson; fails (never skips) if it cannot."""
    service = AddokService(FIXTURE_NDJSON, tmp_path_factory.mktemp("addok"))
    try:
        service.start()
    except AddokSetupError as exc:
        service.stop()
        pytest.fail(f"the real addok could not be started: {exc}", pytrace=False)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def addok_url(addok_service: AddokService) -> str:
    """Base URL of the session's addok, e.g. http://127.0.0.1:40123."""
    return addok_service.base_url
