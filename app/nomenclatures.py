"""The official code lists a record is checked against, and what follows from them.

NAF rév. 2 sub-classes, INSEE catégories juridiques (niveau II, and the niveau III codes the
ESS families need), INSEE headcount bands, the project's labels, the commune -> EPCI table
and the default NAF -> sector table. All are read from app/data/ once, on first use (never
per row, never from the network); data/README.md gives their sources and licences.
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from functools import cache

import yaml

from app.resources import shipped_file
from app.taxonomy import LegalForm
from geocode.normalize import fold

_NAF_SHAPE = re.compile(r"^([0-9]{2})\.?([0-9]{2})([A-Z])$")
_WORDS = re.compile(r"[\W_]+")


def _csv_rows(name: str) -> list[dict[str, str]]:
    """The rows of a shipped `;`-separated UTF-8 file (gzip when it ends in .gz)."""
    path = shipped_file(name)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


@cache
def naf_codes() -> dict[str, str]:
    """NAF rév. 2 sub-class code ("88.99B") -> label."""
    return {row["code"]: row["label"] for row in _csv_rows("naf.csv")}


@cache
def legal_categories() -> dict[str, tuple[str, LegalForm | None]]:
    """Catégorie juridique code (2 or 4 digits) -> (label, ESS family or None)."""
    return {row["code"]: (row["label"], LegalForm(row["family"]) if row["family"] else None)
            for row in _csv_rows("categories_juridiques.csv")}


@cache
def headcount_bands() -> dict[str, str]:
    """INSEE tranche d'effectif code -> label."""
    return {row["code"]: row["label"] for row in _csv_rows("tranches_effectif.csv")}


@cache
def commune_epci() -> dict[str, str]:
    """INSEE commune (or arrondissement) code -> SIREN of its EPCI."""
    return {row["citycode"]: row["epci"] for row in _csv_rows("commune_epci.csv.gz")}


@cache
def naf_sector_prefixes() -> tuple[tuple[str, str], ...]:
    """(NAF prefix, sector slug), longest prefix first."""
    rows = [(row["prefix"], row["sector"]) for row in _csv_rows("naf_sectors.csv")]
    return tuple(sorted(rows, key=lambda row: -len(row[0])))


@dataclass(frozen=True)
class Label:
    """A label or agrément of the vocabulary (app/data/labels.yaml)."""

    slug: str
    label_fr: str
    aliases: tuple[str, ...]


@cache
def labels() -> tuple[Label, ...]:
    """The label vocabulary, in file order."""
    document = yaml.safe_load(shipped_file("labels.yaml").read_text(encoding="utf-8"))
    return tuple(Label(str(entry["slug"]), str(entry["label_fr"]),
                       tuple(str(alias) for alias in entry.get("aliases") or ()))
                 for entry in document["labels"])


def _label_key(text: str) -> str:
    """A label's comparison key: no case, accents or punctuation."""
    return " ".join(_WORDS.sub(" ", fold(text)).split())


@cache
def _label_slugs() -> dict[str, str]:
    """Every way of writing a label -> its slug."""
    return {_label_key(name): label.slug for label in labels()
            for name in (label.slug, label.label_fr, *label.aliases)}


def clean_naf(raw: str) -> str:
    """A NAF rév. 2 sub-class, written "88.99B" (the dot may be missing)."""
    match = _NAF_SHAPE.match(raw.strip().upper())
    code = f"{match[1]}.{match[2]}{match[3]}" if match else ""
    if code not in naf_codes():
        raise ValueError(f"NAF code {raw!r} is not a sub-class of NAF rév. 2 (like 88.99B)")
    return code


def clean_legal_category(raw: str) -> str:
    """An INSEE catégorie juridique: four digits of a known niveau II category."""
    code = raw.strip()
    if not (len(code) == 4 and code.isascii() and code.isdigit()) \
            or code[:2] not in legal_categories():
        raise ValueError(f"catégorie juridique {raw!r} is not an INSEE code (4 digits, like 9220)")
    return code


def clean_headcount_band(raw: str) -> str:
    """An INSEE tranche d'effectif code ("NN", "00", "01" … "53")."""
    code = raw.strip().upper()
    if len(code) == 1 and code.isdigit():
        code = "0" + code
    if code not in headcount_bands():
        raise ValueError(f"headcount band {raw!r} is not an INSEE tranche code "
                         f"({', '.join(headcount_bands())})")
    return code


def clean_labels(raw: str) -> str:
    """Labels separated by | ; or , as slugs of app/data/labels.yaml, joined by |."""
    slugs = []
    for text in re.split(r"\s*[|;,]\s*", raw.strip()):
        if not text:
            continue
        slug = _label_slugs().get(_label_key(text))
        if slug is None:
            known = ", ".join(label.slug for label in labels())
            raise ValueError(f"label {text!r} is not in app/data/labels.yaml ({known})")
        slugs.append(slug)
    return "|".join(dict.fromkeys(slugs))


def family_of_category(code: str) -> LegalForm | None:
    """The ESS family an INSEE catégorie juridique implies (niveau III first, then II)."""
    table = legal_categories()
    entry = table.get(code) or table.get(code[:2])
    return entry[1] if entry else None


def epci_of(citycode: str | None) -> str | None:
    """The SIREN of the EPCI a commune belongs to, or None."""
    return commune_epci().get(citycode) if citycode else None


def sector_of_naf(code: str) -> str | None:
    """The default sector of a NAF code (longest matching prefix of data/naf_sectors.csv)."""
    return next((sector for prefix, sector in naf_sector_prefixes() if code.startswith(prefix)),
                None)
