"""Where shipped data is: files in a package's data/ folder, found through importlib.resources.

An installed wheel keeps them beside the code (site-packages/<package>/data/); were the
package ever imported from a zip, `as_file` extracts a file once and keeps it until exit.
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path

_extracted = ExitStack()
atexit.register(_extracted.close)


@cache
def package_data_file(package: str, name: str) -> Path:
    """The file `name` of `package`'s shipped data/ folder, as a path on disk."""
    return _extracted.enter_context(as_file(files(package).joinpath("data", name)))


def shipped_file(name: str) -> Path:
    """A data file shipped with geocode (the gazetteer, the commune polygons)."""
    return package_data_file("geocode", name)
