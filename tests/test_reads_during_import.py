"""Reads while an import writes: a real server and a real `ess-atlas import`, two processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO

import httpx
from test_cli_serve import serve_in_subprocess

ROWS = 20_000
READS = (
    "/api/organisations?limit=100",
    "/api/organisations?limit=100&bbox=4.7,45.7,4.9,45.8",
    "/api/organisations?limit=50&q=atelier",
    "/api/nearby?lat=45.76&lon=4.83&radius_km=10&limit=20",
    "/api/clusters?zoom=5&bbox=-5,41,10,51",
    "/api/facets?bbox=-5,41,10,51",
)


def write_directory(path: Path) -> Path:
    """ROWS structures with one key each, spread over a few communes."""
    communes = [("69001", "Lyon"), ("44000", "Nantes"), ("13002", "Marseille"),
                ("59000", "Lille"), ("35000", "Rennes")]
    lines = ["id;source;nom;description;cp;commune;secteur"]
    for index in range(ROWS):
        postcode, city = communes[index % len(communes)]
        lines.append(f"r{index};reseau;Atelier solidaire {index};Réemploi à {city};"
                     f"{postcode};{city};reemploi")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start_import(tmp_path: Path, directory: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """`ess-atlas import` of the directory into the served database, in small batches."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESS_")}
    env |= {"ESS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
            "ESS_GEOCODER_CACHE_PATH": str(tmp_path / "cache.sqlite3"),
            "ESS_IMPORT_BATCH_SIZE": "500"}
    command = [sys.executable, "-m", "app.cli", "import", str(directory)]
    # In tmp_path, where the import writes its report folder.
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=tmp_path)


def read_until_done(base: str, importer: subprocess.Popen[bytes]) -> tuple[list[str], set[int]]:
    """Every read's failures, and the totals seen, while the import runs."""
    failures: list[str] = []
    totals: set[int] = set()
    with httpx.Client(base_url=base, timeout=60) as client:
        while importer.poll() is None:
            for path in READS:
                response = client.get(path)
                if response.status_code != 200:
                    failures.append(f"{path}: {response.status_code} {response.text[:200]}")
            totals.add(client.get("/api/facets").json()["numberMatched"])
    return failures, totals


def test_reads_during_an_import_get_no_error_and_see_it_grow(tmp_path: Path) -> None:
    directory = write_directory(tmp_path / "directory.csv")
    with (serve_in_subprocess(tmp_path, "--workers", "2",
                              ESS_LOAD_DEFAULT_DIRECTORY="false") as base,
          (tmp_path / "import.log").open("wb") as log):
        importer = start_import(tmp_path, directory, log)
        failures, totals = read_until_done(base, importer)
        assert importer.wait(timeout=600) == 0, (tmp_path / "import.log").read_text()
        assert failures == []
        # The reads overlapped the writes: they saw the directory part-way in.
        assert any(0 < total < ROWS for total in totals), sorted(totals)
        final = httpx.get(f"{base}/api/clusters", params={"zoom": 3}, timeout=60).json()
        assert final["numberMatched"] == ROWS
        assert sum(f["properties"].get("count", 1) for f in final["features"]) == ROWS
