"""Turn the cells of one row into clean values, or say what is wrong and where.

This is the hot path of an import, so it works on plain dicts with the `clean_*`
functions of app.validation (the same checks as the API's OrganisationCreate), not on a
pydantic model per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from app import validation
from app.importer.columns import ColumnMapping, ColumnPlan
from app.importer.faults import RowInvalid
from app.models import MAX_LENGTHS
from app.safecsv import restore_cell
from app.taxonomy import LegalForm, Taxonomy
from geocode.normalize import fold

_CATEGORY_SEPARATORS = re.compile(r"\s*[|;,/]\s*")
_RNA = re.compile(r"^W[0-9A-Z]{9}$")
_CITYCODE = re.compile(r"^(?:[0-9]{5}|2[AB][0-9]{3})$")
_COORDINATE = re.compile(r"^[+-]?[0-9]+(?:\.[0-9]*)?$")
# Plain http(s) addresses with an ASCII host: what clean_url accepts, checked faster.
_SIMPLE_URL = re.compile(
    r"^(?:https?://)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:[/?#][^\s:]*)?$")
_COUNTRY_NAMES = {"france": "FR", "fra": "FR", "france metropolitaine": "FR"}
_LEGAL_FAMILY_WORDS: tuple[tuple[LegalForm, frozenset[str]], ...] = (
    (LegalForm.ASSOCIATION, frozenset({"association", "asso", "1901", "1908"})),
    (LegalForm.COOPERATIVE, frozenset({"cooperative", "coop", "scop", "scic", "cae", "cuma",
                                        "sca", "cooperatif"})),
    (LegalForm.MUTUELLE, frozenset({"mutuelle", "mutuel", "mutualiste"})),
    (LegalForm.FONDATION, frozenset({"fondation", "dotation"})),
    (LegalForm.ENTREPRISE_ESS, frozenset({"esus", "sas", "sarl", "sa", "sasu", "eurl",
                                           "entreprise", "societe"})),
)


@dataclass(slots=True)
class CleanRow:
    """A row whose fields passed their checks; its place is not resolved yet."""

    file: str
    line: int
    values: dict[str, Any]
    categories: tuple[str, ...]
    lat: float | None
    lon: float | None
    warnings: list[tuple[str, str]] = field(default_factory=list)


class CategoryMatcher:
    """Sector values -> taxonomy slugs, by slug, French or English label, or the mapping."""

    def __init__(self, taxonomy: Taxonomy, mapping: ColumnMapping) -> None:
        self._slugs: dict[str, str] = {}
        for category in taxonomy.categories:
            for text in (category.slug, category.label_fr, category.label_en):
                self._slugs[fold(text)] = category.slug
        known = taxonomy.slugs()
        for value, slug in mapping.categories.items():
            if slug not in known:
                raise ValueError(f"mapping: sector {value!r} maps to unknown slug {slug!r}")
            self._slugs[value] = slug
        self.default = mapping.default_category
        if self.default and self.default not in known:
            raise ValueError(f"default category {self.default!r} is not a known sector slug")
        self._cache: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def match(self, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(known slugs, unknown values) of a categories cell."""
        if text not in self._cache:
            self._cache[text] = self._split(text)
        return self._cache[text]

    def _split(self, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        whole = self._slugs.get(fold(text))
        if whole:
            return (whole,), ()
        values = [v for v in _CATEGORY_SEPARATORS.split(text) if v]
        slugs = [self._slugs[fold(v)] for v in values if fold(v) in self._slugs]
        unknown = tuple(v for v in values if fold(v) not in self._slugs)
        return tuple(dict.fromkeys(slugs)), unknown


def _checked(values: dict[str, Any], name: str, clean: Callable[[str], str]) -> None:
    """Replace a field by its cleaned value, or reject the row naming the field."""
    text = values.get(name)
    if text is None:
        return
    try:
        values[name] = clean(text)
    except ValueError as error:
        raise RowInvalid(str(error), name) from None


def parse_coordinate(text: str, name: str, low: float, high: float) -> float:
    """A coordinate in degrees, with a decimal point or a decimal comma."""
    compact = text.replace(" ", "").replace("\u00a0", "").replace(",", ".").rstrip("°")
    if not _COORDINATE.match(compact):
        raise RowInvalid(f"{name} {text!r} is not a number", name)
    value = float(compact)
    if abs(value) > 1000:
        raise RowInvalid(f"{name} {text!r} looks like projected metres (Lambert-93?); "
                         "give WGS84 degrees", name, code="coordinates_projected")
    if not low <= value <= high:
        raise RowInvalid(f"{name} {text!r} is outside [{low:g}, {high:g}]", name)
    return value


def _coordinates(values: dict[str, Any]) -> tuple[float | None, float | None]:
    """Both coordinates, or neither."""
    lat_text, lon_text = values.pop("lat", None), values.pop("lon", None)
    if lat_text is None and lon_text is None:
        return None, None
    if lat_text is None or lon_text is None:
        missing = "lat" if lat_text is None else "lon"
        raise RowInvalid("latitude and longitude go together: give both or neither", missing)
    return parse_coordinate(lat_text, "lat", -90, 90), parse_coordinate(lon_text, "lon", -180, 180)


@lru_cache(maxsize=4096)
def legal_family(text: str) -> LegalForm | None:
    """The ESS family a legal form or status names ("SCOP SA" -> cooperative), or None."""
    folded = fold(text)
    if folded in LegalForm._value2member_map_:
        return LegalForm(folded)
    words = set(re.split(r"[^a-z0-9]+", folded))
    return next((family for family, markers in _LEGAL_FAMILY_WORDS if words & markers), None)


def _legal(values: dict[str, Any]) -> None:
    """Set legal_form to an ESS family; keep a free-text form in legal_status."""
    form_text, status_text = values.pop("legal_form", None), values.get("legal_status")
    family = legal_family(form_text) if form_text else None
    if family is None and status_text:
        family = legal_family(status_text)
    if form_text and not status_text and fold(form_text) not in LegalForm._value2member_map_:
        values["legal_status"] = form_text
    values["legal_form"] = family


def _identifiers(values: dict[str, Any]) -> None:
    """SIRET, SIREN (derived from the SIRET when missing) and RNA."""
    _checked(values, "siret", validation.clean_siret)
    _checked(values, "siren", validation.clean_siren)
    siret, siren = values.get("siret"), values.get("siren")
    if siret and siren and not siret.startswith(siren):
        raise RowInvalid(f"SIRET {siret} does not start with SIREN {siren}", "siret",
                         code="siret_siren_mismatch")
    if siret and not siren:
        values["siren"] = siret[:9]
    _checked(values, "rna", _clean_rna)


def _clean_rna(raw: str) -> str:
    """An RNA number (associations): W followed by nine digits or letters."""
    compact = re.sub(r"[\s.\-]", "", raw).upper()
    if not _RNA.match(compact):
        raise ValueError(f"RNA must read W followed by 9 characters (W751234567), got {raw!r}")
    return compact


def _clean_citycode(raw: str) -> str:
    """An INSEE commune code: five digits, or 2A/2B and three digits for Corsica."""
    compact = raw.strip().upper()
    if len(compact) == 4 and compact.isdigit():
        compact = "0" + compact
    if not _CITYCODE.match(compact):
        raise ValueError(f"INSEE code must have 5 characters (69123, 2A004), got {raw!r}")
    return compact


def _clean_url(raw: str) -> str:
    """clean_url, with a fast path for the common, plainly valid addresses."""
    text = raw.strip()
    if _SIMPLE_URL.match(text):
        return text if "://" in text else "https://" + text
    return validation.clean_url(raw)


def _clean_postcode(raw: str) -> str:
    """clean_postcode, with a fast path for five ASCII digits."""
    if len(raw) == 5 and raw.isascii() and raw.isdigit():
        return raw
    return validation.clean_postcode(raw)


def _clean_country(raw: str) -> str:
    """An ISO country code; "France" is accepted for FR."""
    return _COUNTRY_NAMES.get(fold(raw)) or validation.clean_country(raw)


def _contacts(values: dict[str, Any]) -> None:
    """Shapes of the public and private contact fields."""
    _checked(values, "website", _clean_url)
    _checked(values, "email", validation.clean_email)
    _checked(values, "phone", validation.clean_phone)
    _checked(values, "contact_email", validation.clean_email)


def _place_fields(values: dict[str, Any]) -> None:
    """Postcode, INSEE code and country."""
    _checked(values, "postcode", _clean_postcode)
    _checked(values, "citycode", _clean_citycode)
    _checked(values, "country", _clean_country)
    values.setdefault("country", "FR")


def _lengths(values: dict[str, Any]) -> None:
    """Every text within its column's size."""
    for name, limit in MAX_LENGTHS.items():
        text = values.get(name)
        if text is not None and len(text) > limit:
            raise RowInvalid(f"{name} has {len(text)} characters, more than {limit}", name,
                             code="too_long")


def _name(values: dict[str, Any]) -> None:
    """A name is required; inner runs of spaces count as one."""
    name = " ".join((values.get("name") or "").split())
    if not name:
        raise RowInvalid("a name is required", "name", code="name_missing")
    values["name"] = name


def _categories(values: dict[str, Any], matcher: CategoryMatcher) -> tuple[tuple[str, ...], str]:
    """The sector slugs of a row, and a warning about the values that are unknown."""
    text = values.pop("categories", None)
    if text is None:
        if matcher.default:
            return (matcher.default,), ""
        raise RowInvalid("a sector is required (column catégorie / secteur, or give a "
                         "default category)", "categories", code="category_missing")
    slugs, unknown = matcher.match(text)
    if not slugs:
        raise RowInvalid(f"unknown sector {text!r}: use a slug or label of "
                         "data/categories.yaml, or map it in a mapping file", "categories",
                         code="category_unknown")
    return slugs, f"unknown sectors ignored: {', '.join(unknown)}" if unknown else ""


def cell_values(cells: list[str], plan: ColumnPlan) -> dict[str, Any]:
    """The non-empty cells of a row by field name (spaces trimmed, formula guard undone)."""
    values: dict[str, Any] = {}
    width = len(cells)
    for index, name in plan.positions:
        if index < width:
            text = cells[index].strip()
            if text:
                values[name] = restore_cell(text) if text[0] == "'" else text
    return values


def clean_row(
    values: dict[str, Any], matcher: CategoryMatcher, *, file: str, line: int
) -> CleanRow:
    """Check and normalise the values of one row (raises RowInvalid)."""
    _name(values)
    categories, category_warning = _categories(values, matcher)
    lat, lon = _coordinates(values)
    _identifiers(values)
    _place_fields(values)
    _contacts(values)
    _legal(values)
    _lengths(values)
    row = CleanRow(file, line, values, categories, lat, lon)
    if category_warning:
        row.warnings.append(("category_unknown", category_warning))
    return row
