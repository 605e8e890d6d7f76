"""Import benchmark: a 100,000-row directory, commune-level geocoding, end to end.

Generates the directory from the real gazetteer's communes into a temporary folder, then
measures in the same run:

- `ess-atlas import DIR` as a subprocess on an empty SQLite file (end to end: start-up,
  reading, validation, geocoding, writing, duplicate check, report);
- the same command again (a re-import that changes nothing);
- `ogr2ogr` loading the same CSV files into SQLite with no validation;

each `--repeat` times (the machine is shared: the medians are what to compare). Prints a
table and appends its rows to bench/results.md.

    python bench/bench_import.py [--rows 100000] [--files 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geocode.gazetteer import COMMUNE, default_gazetteer  # noqa: E402

RESULTS = REPO / "bench" / "results.md"
HEADER = ["source_id", "name", "description", "categories", "legal_form", "siret", "street",
          "postcode", "city", "website", "email", "phone", "source"]
SECTORS = ["alimentation", "habitat", "insertion-emploi", "reemploi", "environnement",
           "culture-education-populaire", "cooperatives-activite", "mediation-numerique"]
FORMS = ["association", "cooperative", "SCOP SA", "Association loi 1901", "SCIC SAS", "mutuelle"]
WORDS = ["Solidaire", "Coopérative", "Tiers-lieu", "Atelier", "Ressourcerie", "Épicerie",
         "Jardin", "Maison", "Fabrique", "Réseau", "Collectif", "Café"]


def luhn_complete(digits: str) -> str:
    """Append the check digit that makes `digits` pass the Luhn test."""
    for check in "0123456789":
        candidate = digits + check
        total = sum(int(c) if i % 2 == 0 else (int(c) * 2 - 9 if int(c) > 4 else int(c) * 2)
                    for i, c in enumerate(reversed(candidate)))
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def _siret(rng: random.Random) -> str:
    """A random SIRET whose SIREN and whole number both pass the Luhn test."""
    siren = luhn_complete(f"{rng.randrange(10**7, 10**8):08d}")
    return luhn_complete(f"{siren}{rng.randrange(10**4):04d}")


def _row(index: int, commune: object, rng: random.Random) -> list[str]:
    name = f"{rng.choice(WORDS)} {rng.choice(WORDS).lower()} n°{index}"
    siret = _siret(rng) if index % 3 == 0 else ""
    source_id = f"b{index}" if index % 3 == 1 else ""
    return [
        source_id, name, f"Structure de l'ESS à {commune.name} ({index}).",  # type: ignore[attr-defined]
        "|".join(rng.sample(SECTORS, k=rng.randint(1, 2))), rng.choice(FORMS), siret,
        f"{rng.randint(1, 200)} rue de la République", commune.postcodes[0],  # type: ignore[attr-defined]
        commune.name, f"https://s{index}.example.org", f"contact{index}@example.org",  # type: ignore[attr-defined]
        f"01 23 45 {index % 100:02d} {index // 100 % 100:02d}", "bench",
    ]


def generate(directory: Path, rows: int, files: int, seed: int = 7) -> None:
    """Write `rows` structures spread over `files` CSV files, one per network."""
    rng = random.Random(seed)
    communes = [c for c in default_gazetteer() if c.kind == COMMUNE and c.postcodes]
    rng.shuffle(communes)
    per_file = -(-rows // files)
    for number in range(files):
        with (directory / f"reseau-{number + 1}.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter=";")
            writer.writerow(HEADER)
            for index in range(number * per_file, min(rows, (number + 1) * per_file)):
                writer.writerow(_row(index, communes[index % len(communes)], rng))


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Run a command; return its wall time and stdout (raise if it fails badly)."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed, done.stdout


def import_once(directory: Path, database: Path, reports: Path) -> tuple[float, dict[str, int]]:
    """`ess-atlas import --json` as a subprocess: wall time and the report's totals."""
    env = {**os.environ, "ESS_DATABASE_URL": f"sqlite:///{database}"}
    command = [str(Path(sys.executable).with_name("ess-atlas")), "import", str(directory),
               "--json", "--report-dir", str(reports)]
    elapsed, stdout = timed(command, env)
    report = json.loads(stdout)
    keys = ("rows_read", "inserted", "updated", "unchanged", "rejected", "duplicate_in_run")
    return elapsed, {key: report[key] for key in keys}


def ogr2ogr_once(directory: Path, database: Path) -> float:
    """ogr2ogr loading every CSV file of the directory into one SQLite file, no validation."""
    files = sorted(directory.glob("*.csv"))
    start = time.perf_counter()
    for file in files:
        command = ["ogr2ogr", "-f", "SQLite", str(database), str(file), "-nln", "organisations",
                   "-oo", "SEPARATOR=SEMICOLON"]
        if database.exists():
            command.append("-append")
        subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def append_results(rows: list[tuple[str, str, str]]) -> None:
    """Append `| benchmark | value | unit | date |` rows to bench/results.md."""
    if not RESULTS.exists():
        RESULTS.write_text("| benchmark | value | unit | date |\n|---|---|---|---|\n")
    today = date.today().isoformat()
    with RESULTS.open("a", encoding="utf-8") as handle:
        for name, value, unit in rows:
            handle.write(f"| {name} | {value} | {unit} | {today} |\n")


def measure(directory: Path, work: Path, repeat: int) -> dict[str, list[float]]:
    """Wall times of `repeat` imports, re-imports and ogr2ogr loads, each on a fresh file."""
    times: dict[str, list[float]] = {"import": [], "reimport": [], "ogr2ogr": []}
    for attempt in range(repeat):
        database = work / f"atlas-{attempt}.sqlite3"
        first, totals = import_once(directory, database, work / "reports")
        second, again = import_once(directory, database, work / "reports")
        assert totals["rejected"] == 0 and again["unchanged"] == totals["inserted"], (totals, again)
        times["import"].append(first)
        times["reimport"].append(second)
        times["ogr2ogr"].append(ogr2ogr_once(directory, work / f"ogr-{attempt}.sqlite"))
    return times


def result_rows(rows: int, times: dict[str, list[float]]) -> list[tuple[str, str, str]]:
    """The table: medians (and best) of each measure, and the ratio of the medians."""
    first, again, ogr = (statistics.median(times[name]) for name in ("import", "reimport",
                                                                      "ogr2ogr"))
    runs = len(times["import"])
    return [
        (f"ess-atlas import, {rows} rows, end to end (median of {runs})", f"{rows / first:,.0f}",
         "rows/s"),
        ("ess-atlas import, best run", f"{rows / min(times['import']):,.0f}", "rows/s"),
        ("ess-atlas import wall time (median)", f"{first:.2f}", "s"),
        ("re-import, 0 changes (median)", f"{again:.2f}", "s"),
        ("ogr2ogr CSV -> SQLite, no validation (median)", f"{rows / ogr:,.0f}", "rows/s"),
        ("ess-atlas import time / ogr2ogr time", f"{first / ogr:.1f}", "ratio"),
    ]


def main() -> None:
    """Generate, measure, print, record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="do not touch results.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ess-bench-"))
    try:
        directory = work / "directory"
        directory.mkdir()
        generate(directory, args.rows, args.files)
        times = measure(directory, work, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = result_rows(args.rows, times)
    rounded = {name: [round(seconds, 2) for seconds in values] for name, values in times.items()}
    print("wall times (s):", rounded)
    width = max(len(name) for name, _, _ in rows)
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:>10} {unit}")
    if not args.no_record:
        append_results(rows)


if __name__ == "__main__":
    main()
