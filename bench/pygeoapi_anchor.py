"""pygeoapi 0.21, the anchor: its own venv under var/bench/, a config serving one GeoPackage.

The venv is made from Debian's /usr/bin/python3 with `--system-site-packages`, so the OGR
provider uses Debian's GDAL bindings (package python3-gdal: building GDAL's Python bindings
from PyPI needs the GDAL headers). pygeoapi runs under gunicorn with 2 sync workers, as in
the measurement of issue 8. Its shipped defaults are kept (no gzip).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml
from harness import LOOPBACK, REPO

VENV = REPO / "var" / "bench" / "pygeoapi-venv"
SYSTEM_PYTHON = "/usr/bin/python3"
REQUIREMENTS = ("pygeoapi==0.21.*", "gunicorn>=23,<28")
COLLECTION = "organisations"
WORKERS = 2
MAX_ITEMS = 5000


def ensure_venv() -> Path:
    """The venv's bin/ folder, created and filled on first use."""
    python = VENV / "bin" / "python"
    if not (VENV / "bin" / "gunicorn").exists():
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(VENV)],
                       check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
                       check=True)
    probe = subprocess.run([str(python), "-c", "from osgeo import ogr; import pygeoapi"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise SystemExit("pygeoapi's OGR provider needs Debian's GDAL bindings: "
                         f"apt-get install python3-gdal\n{probe.stderr[-1000:]}")
    return VENV / "bin"


def _config(gpkg: Path, port: int) -> dict[str, object]:
    """A minimal pygeoapi configuration: one OGR/GeoPackage collection."""
    url = f"http://{LOOPBACK}:{port}"
    return {
        "server": {
            "bind": {"host": LOOPBACK, "port": port}, "url": url,
            "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8",
            "languages": ["fr-FR"], "pretty_print": False,
            "limits": {"default_items": 10, "max_items": MAX_ITEMS},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "attribution": "OpenStreetMap contributors"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {"title": "ess-atlas bench", "description": "synthetic ESS data",
                               "keywords": ["ess"], "keywords_type": "theme", "url": url,
                               "terms_of_service": url},
            "license": {"name": "ODbL-1.0", "url": url},
            "provider": {"name": "ess-atlas bench", "url": url},
            "contact": {"name": "ess-atlas bench", "email": "bench@example.org", "url": url},
        },
        "resources": {COLLECTION: {
            "type": "collection", "title": "Structures de l'ESS",
            "description": "synthetic", "keywords": ["ess"],
            "extents": {"spatial": {"bbox": [-180, -90, 180, 90],
                                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": [{
                "type": "feature", "name": "OGR",
                "data": {"source_type": "GPKG", "source": str(gpkg),
                         "source_capabilities": {"paging": True},
                         "gdal_ogr_options": {"EMPTY_AS_NULL": "NO", "CPL_DEBUG": "NO"}},
                "id_field": "fid", "layer": COLLECTION,
            }],
        }},
    }


def prepare(gpkg: Path, port: int, folder: Path) -> tuple[list[str], dict[str, str]]:
    """The gunicorn command and environment serving `gpkg` on `port` (config written here)."""
    bin_dir = ensure_venv()
    config, openapi = folder / "pygeoapi-config.yml", folder / "pygeoapi-openapi.yml"
    config.write_text(yaml.safe_dump(_config(gpkg, port), allow_unicode=True))
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    subprocess.run([str(bin_dir / "pygeoapi"), "openapi", "generate", str(config),
                    "--output-file", str(openapi)], env=env, check=True, capture_output=True)
    command = [str(bin_dir / "gunicorn"), "-w", str(WORKERS), "-b", f"{LOOPBACK}:{port}",
               "--log-level", "warning", "pygeoapi.flask_app:APP"]
    return command, env
