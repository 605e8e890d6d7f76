"""Where the application's shipped data is: app/data/ inside the installed package.

The taxonomy, the nomenclatures, the département and région polygons and the default
directory; the gazetteer and the commune polygons ship with geocode (geocode.resources).
ESS_DATA_DIR replaces only the taxonomy and the default directory (app.config).
"""

from __future__ import annotations

from pathlib import Path

from geocode.resources import package_data_file


def shipped_file(name: str) -> Path:
    """A data file shipped with the application, as a path on disk."""
    return package_data_file("app", name)
