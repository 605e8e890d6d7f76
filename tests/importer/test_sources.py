"""Names of uploaded files: base name only, safe characters, bounded UTF-8, extension kept."""

from __future__ import annotations

import pytest

from app.importer.sources import MAX_NAME_BYTES, safe_file_name


@pytest.mark.parametrize(("given", "safe"), [
    ("adhérents 2024.csv", "adhérents 2024.csv"),
    ("../../etc/passwd", "passwd"),
    ("a<b>|c.csv", "a_b_c.csv"),
    ("e\u0301te\u0301.csv", "été.csv"),
    ("..", "upload.csv"),
    ("", "upload.csv"),
    (None, "upload.csv"),
    ("a" * 252 + ".csv", "a" * 116 + ".csv"),
    ("é" * 200 + ".csv", "é" * 58 + ".csv"),
    ("名" * 100 + ".csv", "名" * 38 + ".csv"),
    ("x." + "y" * 300, "x." + "y" * 118),
])
def test_file_names_are_cut_to_bounded_valid_utf8_keeping_the_extension(
    given: str | None, safe: str
) -> None:
    assert safe_file_name(given) == safe
    assert len(safe.encode("utf-8")) <= MAX_NAME_BYTES
