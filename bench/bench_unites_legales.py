"""Memory of the SIRENE ESS filter: the lookup built from a synthetic StockUniteLegale file.

Writes N unités légales in the published column layout (half of them ESS), builds the
SIREN -> ESS unité légale lookup (app/importer/unites_legales.py), looks up one import
batch of SIRENs, and reports the process's peak RSS before and after, and the build time.
Prints a table and appends its rows to bench/results.md.

    python bench/bench_unites_legales.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_api import print_and_record  # noqa: E402

from app.importer.unites_legales import EssUnitesLegales  # noqa: E402

FIXTURE = REPO / "tests/fixtures/import/registries/StockUniteLegale_extrait.csv"
FIRST_SIREN = 800_000_000
BATCH = 5000


def write_unites_legales(path: Path, rows: int) -> None:
    """N synthetic unités légales, one in two ESS, with the fixture's header."""
    header = FIXTURE.read_text(encoding="utf-8").splitlines()[0]
    with path.open("w", encoding="utf-8") as out:
        out.write(header + "\n")
        for number in range(rows):
            ess = "O" if number % 2 == 0 else "N"
            out.write(f"{FIRST_SIREN + number:09d},O,,2015-03-02,,,,,,,,,,11,2022,"
                      "2024-03-01T10:00:00,1,PME,2022,2015-03-02,A,,,ASSOCIATION SYNTHETIQUE "
                      f"NUMERO {number} DU QUARTIER,,,,9220,88.99B,NAFRev2,00019,{ess},N,O\n")


def peak_rss_mib() -> float:
    """The peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "StockUniteLegale.csv"
        write_unites_legales(path, args.rows)
        before = peak_rss_mib()
        started = time.perf_counter()
        lookup = EssUnitesLegales(path)
        built = time.perf_counter() - started
        found = lookup.find([f"{FIRST_SIREN + n:09d}" for n in range(BATCH)])
        assert len(found) == BATCH // 2  # one in two is ESS
        after = peak_rss_mib()
        lookup.close()
    rows = [(f"ESS unités légales lookup, {args.rows} rows: peak RSS before build", before, "MiB"),
            (f"ESS unités légales lookup, {args.rows} rows: peak RSS after build", after, "MiB"),
            (f"ESS unités légales lookup, {args.rows} rows: build time", built, "s")]
    print_and_record(rows, no_record=args.no_record)


if __name__ == "__main__":
    main()
