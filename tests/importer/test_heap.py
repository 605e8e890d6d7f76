"""The C heap's free pages go back to the system between batches."""

from __future__ import annotations

import platform

import pytest

from app.importer.heap import release_free_heap


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_the_free_heap_is_released_under_glibc() -> None:
    assert release_free_heap() is True
