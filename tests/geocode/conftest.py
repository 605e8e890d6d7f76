"""Marks the geocode tests that use the real addok (its fixtures live in tests/conftest.py)."""

from __future__ import annotations

import pytest

ADDOK_FIXTURES = frozenset({"addok_service", "addok_url"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the real addok, so `-m "not addok"` can leave them out."""
    for item in items:
        if ADDOK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.addok)
