"""Write app/data/commune_epci.csv.gz (INSEE commune code -> SIREN of its EPCI).

From the npm package @etalab/decoupage-administratif (data/epci.json lists each EPCI with
its member communes; data/communes.json gives the municipal arrondissements of Paris,
Lyon and Marseille, which belong to their commune's EPCI). Run from the repository root
with the package unpacked (`npm pack @etalab/decoupage-administratif`, then `tar xzf …`):

    python data/scripts/build_epci.py package/data
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "app" / "data"


def commune_epci(folder: Path) -> dict[str, str]:
    """Commune code -> EPCI SIREN, arrondissements included."""
    epcis = json.loads((folder / "epci.json").read_text(encoding="utf-8"))
    table = {member["code"]: epci["code"] for epci in epcis for member in epci["membres"]}
    communes = json.loads((folder / "communes.json").read_text(encoding="utf-8"))
    for commune in communes:
        parent = commune.get("commune")
        if commune["type"] == "arrondissement-municipal" and parent in table:
            table[commune["code"]] = table[parent]
    return table


def main(folder: Path) -> None:
    """Write the table sorted by commune code (gzip with no timestamp: reproducible bytes)."""
    table = commune_epci(folder)
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=";", lineterminator="\n")
    writer.writerow(["citycode", "epci"])
    writer.writerows(sorted(table.items()))
    with (DATA / "commune_epci.csv.gz").open("wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(text.getvalue().encode("utf-8"))
    print(f"{len(table)} communes in {len(set(table.values()))} EPCI")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
