"""Export benchmark (issue 10): `ess-atlas export` against `ogr2ogr` on the same rows.

For each size N (default 1,000,000; `BENCH_EXPORT_SIZES=100000` or `--sizes` for a
quick run):

1. a SQLite database of N structures: `ess-atlas import` of bench/generate.py's cached CSV
   (points as given), cached under var/bench/exports/ by N, seed and generator version;
   or, with `--database PATH`, an existing database (N is its number of structures);
2. `ess-atlas export --format geojson|gpkg` of every structure, and the anchor: `ogr2ogr`
   (Debian's GDAL) exporting the same public columns of the same SQLite file to the same
   format, through a VRT that makes points of lon/lat (GeoJSON with RFC7946=YES and 6
   decimals, like ours). Each command runs alone: wall time, peak RSS of the largest
   process (GNU time, exact) and of its process tree (sampled);
3. a check that both files hold N features (pyogrio's count).

Targets: time within 2× of ogr2ogr, peak RSS < 300 MB. Prints the table and appends it to
bench/results.md with the date, machine and commit.

    python bench/bench_exports.py [--sizes 100000,1000000 | --database PATH] [--no-record]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import generate
import pyogrio
from harness import (
    ESS_ATLAS,
    REPO,
    Measured,
    append_section,
    human_bytes,
    run_measured,
    sizes_wanted,
)

sys.path.insert(0, str(REPO))

from app.exports.columns import TABLE_COLUMNS

WORK = REPO / "var" / "bench" / "exports"
DEFAULT_SIZES = "1000000"
FORMATS = {"geojson": ("GeoJSON", ["-lco", "RFC7946=YES", "-lco", "COORDINATE_PRECISION=6"]),
           "gpkg": ("GPKG", [])}
TARGET_RATIO = 2.0
TARGET_RSS = 300 * 1000 * 1000


@dataclass(frozen=True)
class Run:
    """One export: what ran, how long, how much memory, how many features came out."""

    size: int
    export_format: str
    tool: str
    measured: Measured
    features: int


def database_env(database: Path) -> dict[str, str]:
    """The environment of an ess-atlas command on `database`."""
    return {**os.environ, "ESS_DATABASE_URL": f"sqlite:///{database}",
            "ESS_LOAD_DEFAULT_DIRECTORY": "false"}


def database_for(rows: int) -> Path:
    """The cached SQLite file of `rows` generated structures (imported if missing)."""
    dataset = generate.cached_dataset(rows)
    folder = WORK / dataset.folder.name
    database, marker = folder / "atlas.sqlite3", folder / "complete"
    if marker.exists():
        return database
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    print(f"importing {rows:,} structures into {database} ...", flush=True)
    subprocess.run([ESS_ATLAS, "import", "--report-dir", str(folder / "reports"),
                    str(dataset.csv)], env=database_env(database), check=True,
                   stdout=subprocess.DEVNULL)
    marker.write_text(f"{rows}\n")
    print(f"  imported in {time.perf_counter() - started:.0f} s", flush=True)
    return database


def structures_in(database: Path) -> int:
    """How many structures a database holds."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        (count,) = connection.execute("SELECT count(*) FROM organisation").fetchone()
    return int(count)


def anchor_vrt(database: Path, folder: Path) -> Path:
    """A VRT giving ogr2ogr the public columns of the organisation table, points from lon/lat."""
    columns = ", ".join((*TABLE_COLUMNS, "lon", "lat"))
    vrt = folder / "organisations.vrt"
    vrt.write_text(f"""<OGRVRTDataSource>
  <OGRVRTLayer name="organisations">
    <SrcDataSource readOnly="true">{database}</SrcDataSource>
    <SrcSQL>SELECT {columns} FROM organisation ORDER BY id</SrcSQL>
    <GeometryType>wkbPoint</GeometryType>
    <LayerSRS>EPSG:4326</LayerSRS>
    <GeometryField encoding="PointFromColumns" x="lon" y="lat"/>
  </OGRVRTLayer>
</OGRVRTDataSource>
""")
    return vrt


def feature_count(path: Path) -> int:
    """How many features a written file holds."""
    return int(pyogrio.read_info(path)["features"])


def measure(size: int, export_format: str, tool: str, command: list[str], output: Path,
            folder: Path, env: dict[str, str]) -> Run:
    """Run one export command alone and check what it wrote."""
    output.unlink(missing_ok=True)
    subprocess.run(["sync"], check=False)
    measured = run_measured(command, env=env, folder=folder, name=f"{tool}-{export_format}")
    if measured.returncode != 0:
        raise SystemExit(f"{tool} {export_format} failed; see {measured.stderr}")
    run = Run(size, export_format, tool, measured, feature_count(output))
    output.unlink()
    return run


def runs_for(database: Path, work: Path) -> list[Run]:
    """ess-atlas and ogr2ogr, each format, on one database; files written under `work`."""
    size = structures_in(database)
    work.mkdir(parents=True, exist_ok=True)
    vrt = anchor_vrt(database, work)
    runs = []
    for suffix, (driver, options) in FORMATS.items():
        ours, theirs = work / f"ess-atlas.{suffix}", work / f"ogr2ogr.{suffix}"
        runs.append(measure(size, suffix, "ess-atlas export",
                            [ESS_ATLAS, "export", "--format", suffix, "-o", str(ours)],
                            ours, work, database_env(database)))
        runs.append(measure(size, suffix, "ogr2ogr", ["ogr2ogr", "-f", driver, *options,
                                                      str(theirs), str(vrt)],
                            theirs, work, dict(os.environ)))
    return runs


def table(runs: list[Run]) -> list[str]:
    """The results table: one row per export, the ratio against ogr2ogr on ours."""
    lines = ["| export | N | tool | seconds | × ogr2ogr (target ≤ 2×) | peak RSS, largest "
             "process (target < 300 MB) | peak RSS, process tree | features written |",
             "|---|---|---|---|---|---|---|---|"]
    anchors = {(r.size, r.export_format): r for r in runs if r.tool == "ogr2ogr"}
    for run in runs:
        anchor = anchors[(run.size, run.export_format)]
        ratio = run.measured.seconds / anchor.measured.seconds
        verdict = "" if run is anchor else (" ✓" if ratio <= TARGET_RATIO else " ✗")
        rss_verdict = " ✓" if run.measured.max_rss_bytes < TARGET_RSS else " ✗"
        lines.append(
            f"| {run.export_format} | {run.size:,} | {run.tool} | {run.measured.seconds:.1f} | "
            f"{'—' if run is anchor else f'{ratio:.2f}×{verdict}'} | "
            f"{human_bytes(run.measured.max_rss_bytes)}{'' if run is anchor else rss_verdict} "
            f"| {human_bytes(run.measured.tree_rss_bytes)} | {run.features:,} |")
    return lines


def main() -> None:
    """Measure every size, print the table, record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help=f"comma-separated N (default BENCH_EXPORT_SIZES or "
                        f"{DEFAULT_SIZES})")
    parser.add_argument("--database", type=Path,
                        help="an existing ess-atlas SQLite database (instead of --sizes)")
    parser.add_argument("--no-record", action="store_true", help="do not touch results.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    if args.database:
        runs = runs_for(args.database.resolve(), WORK / "given")
    else:
        runs = [run for size in sizes_wanted(args.sizes, "BENCH_EXPORT_SIZES", DEFAULT_SIZES)
                for run in runs_for(database_for(size), database_for(size).parent)]
    lines = [*table(runs), "",
             f"Each command ran alone, one after the other; 1-minute load average "
             f"{load:.1f} before → {os.getloadavg()[0]:.1f} after (a shared machine: "
             f"times are noisy, ratios less so)."]
    print("\n".join(lines))
    if not args.no_record:
        append_section("Export benchmark: ess-atlas export and ogr2ogr on the same rows", lines)


if __name__ == "__main__":
    main()
