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

from app import nomenclatures, validation
from app.importer.columns import ColumnMapping, ColumnPlan, normalise_header
from app.importer.faults import RowInvalid
from app.models import MAX_LENGTHS
from app.safecsv import restore_cell
from app.taxonomy import UNCLASSIFIED, LegalForm, Taxonomy
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
    # A plain SAS, SARL or SA is no ESS family: only a row that says so (ESUS, a label, a
    # catégorie juridique of the ESS, or the family itself) makes it one.
    (LegalForm.ENTREPRISE_ESS, frozenset({"esus"})),
)
# A digit doubled in the Luhn test, its digits summed; La Poste numbers its SIRETs otherwise.
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_LA_POSTE = "356000000"
_REPETITIONS = {"B": "bis", "T": "ter", "Q": "quater", "C": "quinquies"}


# (known sector slugs, values no sector answers to) of a categories cell.
SectorMatch = tuple[tuple[str, ...], tuple[str, ...]]
# Fields a row cannot do without: a problem with one of them rejects the row. A problem
# with any other field drops that field (with a warning) and keeps the structure.
_REQUIRED = frozenset({"name", "categories"})
_ADDRESS_FIELDS = ("street", "postcode", "city", "citycode")
# A sector value this short only matches exactly (a prefix of one letter says nothing).
_MIN_PARTIAL_LABEL = 3


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
    unknown_sectors: tuple[str, ...] = ()


class RowCheck:
    """The values of one row while they are checked, and every problem found in them."""

    __slots__ = ("problems", "values")

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.problems: list[RowInvalid] = []

    def clean(self, name: str, clean: Callable[[str], object]) -> None:
        """Replace a field by its cleaned value, or note what is wrong with it."""
        text = self.values.get(name)
        if text is None:
            return
        try:
            self.values[name] = clean(text)
        except ValueError as error:
            self.problem(RowInvalid(str(error), name))

    def problem(self, invalid: RowInvalid) -> None:
        """Note a problem; an optional field is dropped from the row."""
        self.problems.append(invalid)
        if invalid.field not in _REQUIRED and invalid.field is not None:
            self.values.pop(invalid.field, None)

    def rejects(self, has_point: bool) -> bool:
        """True when a required field is wrong, or dropping fields left the row nowhere."""
        if any(problem.field in _REQUIRED for problem in self.problems):
            return True
        located = has_point or any(self.values.get(name) for name in _ADDRESS_FIELDS)
        return bool(self.problems) and not located


class CategoryMatcher:
    """Sector values -> taxonomy slugs: by any name of a sector, a start of one, or the mapping.

    Names are slugs, French and English labels and aliases, compared without case, accents
    or punctuation. A value that starts a name ("Insertion") or holds words of one in order
    ("Médiation numérique") matches it when it matches no other sector. Unknown values go
    to `fallback` (the `non-classe` sector), or reject the row when it is None (strict).
    """

    def __init__(self, taxonomy: Taxonomy, mapping: ColumnMapping, *,
                 strict: bool = False) -> None:
        self._slugs: dict[str, str] = {}
        self._names: list[tuple[tuple[str, ...], str]] = []
        for category in taxonomy.categories:
            for name in category.names():
                key = normalise_header(name)
                self._slugs.setdefault(key, category.slug)
                self._names.append((tuple(key.split()), category.slug))
        # word -> the names holding it: a partial match needs every word in the name.
        self._names_with: dict[str, set[int]] = {}
        for index, (words, _) in enumerate(self._names):
            for word in words:
                self._names_with.setdefault(word, set()).add(index)
        known = taxonomy.slugs()
        for value, slug in mapping.categories.items():
            if slug not in known:
                raise ValueError(f"mapping: sector {value!r} maps to unknown slug {slug!r}")
            self._slugs[value] = slug
        self.default = mapping.default_category
        if self.default and self.default not in known:
            raise ValueError(f"default category {self.default!r} is not a known sector slug")
        self.fallback = UNCLASSIFIED if UNCLASSIFIED in known and not strict else None
        self._naf_sectors = mapping.naf_sectors
        self._cache: dict[str, SectorMatch] = {}

    def match(self, text: str) -> SectorMatch:
        """(known slugs, unknown values) of a categories cell."""
        if text not in self._cache:
            self._cache[text] = self._split(text)
        return self._cache[text]

    def _split(self, text: str) -> SectorMatch:
        whole = self._slug(text)
        if whole:
            return (whole,), ()
        values = [v for v in _CATEGORY_SEPARATORS.split(text) if v]
        slugs = [slug for v in values if (slug := self._slug(v))]
        unknown = tuple(v for v in values if not self._slug(v))
        return tuple(dict.fromkeys(slugs)), unknown

    def _slug(self, value: str) -> str | None:
        if self._naf_sectors:
            return self._naf_sector(value)
        key = normalise_header(value)
        return self._slugs.get(key) or self._partial(tuple(key.split()))

    @staticmethod
    def _naf_sector(value: str) -> str | None:
        """The default sector of a NAF code (data/naf_sectors.csv), or None."""
        try:
            return nomenclatures.sector_of_naf(nomenclatures.clean_naf(value))
        except ValueError:
            return None

    def _partial(self, words: tuple[str, ...]) -> str | None:
        """The one sector a name of which starts with these words, else has them in order."""
        if len(" ".join(words)) < _MIN_PARTIAL_LABEL:
            return None
        candidates = [self._names[index] for index in self._holding_every(words)]
        for matches in (_starts_with, _in_order):
            slugs = {slug for name, slug in candidates if matches(name, words)}
            if slugs:
                return slugs.pop() if len(slugs) == 1 else None
        return None

    def _holding_every(self, words: tuple[str, ...]) -> list[int]:
        """The indexes of the names that hold every one of these words, in order."""
        holding = [self._names_with.get(word, set()) for word in words]
        return sorted(set.intersection(*holding))


def _starts_with(name: tuple[str, ...], words: tuple[str, ...]) -> bool:
    """True when the name's first words are these words."""
    return name[: len(words)] == words


def _in_order(name: tuple[str, ...], words: tuple[str, ...]) -> bool:
    """True when every word appears in the name, in this order."""
    remaining = iter(name)
    return all(word in remaining for word in words)


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


def _coordinates(check: RowCheck) -> tuple[float | None, float | None]:
    """Both coordinates, or neither (wrong ones are dropped when an address can place the row)."""
    values = check.values
    lat_text, lon_text = values.pop("lat", None), values.pop("lon", None)
    if lat_text is None and lon_text is None:
        return None, None
    try:
        if lat_text is None or lon_text is None:
            missing = "lat" if lat_text is None else "lon"
            raise RowInvalid("latitude and longitude go together: give both or neither", missing)
        return (parse_coordinate(lat_text, "lat", -90, 90),
                parse_coordinate(lon_text, "lon", -180, 180))
    except RowInvalid as invalid:
        check.problem(invalid)
        return None, None


@lru_cache(maxsize=4096)
def legal_family(text: str) -> LegalForm | None:
    """The ESS family a legal form or status names ("SCOP SA" -> cooperative), or None."""
    folded = fold(text)
    if folded in LegalForm._value2member_map_:
        return LegalForm(folded)
    words = set(re.split(r"[^a-z0-9]+", folded))
    return next((family for family, markers in _LEGAL_FAMILY_WORDS if words & markers), None)


def _legal(values: dict[str, Any]) -> None:
    """Set legal_form to an ESS family; keep a free-text form in legal_status.

    The family comes from the form as written, else the catégorie juridique, else the
    status text, else an ESUS agrément or a label (an ESS company).
    """
    form_text, status_text = values.pop("legal_form", None), values.get("legal_status")
    family = legal_family(form_text) if form_text else None
    if family is None and (code := values.get("categorie_juridique")):
        family = nomenclatures.family_of_category(code)
    if family is None and status_text:
        family = legal_family(status_text)
    if family is None and (values.get("esus") or values.get("labels")):
        family = LegalForm.ENTREPRISE_ESS
    if form_text and not status_text and fold(form_text) not in LegalForm._value2member_map_:
        values["legal_status"] = form_text
    values["legal_form"] = family


def _identifiers(check: RowCheck) -> None:
    """SIRET, SIREN (derived from the SIRET when missing) and RNA."""
    check.clean("siret", _clean_siret)
    check.clean("siren", _clean_siren)
    values = check.values
    siret, siren = values.get("siret"), values.get("siren")
    if siret and siren and not siret.startswith(siren):
        check.problem(RowInvalid(f"SIRET {siret} does not start with SIREN {siren}", "siret",
                                 code="siret_siren_mismatch"))
    elif siret and not siren:
        values["siren"] = siret[:9]
    check.clean("rna", _clean_rna)


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


def _passes_luhn(digits: str) -> bool:
    """The Luhn test of ASCII digits (stdnum's, without its per-call clean-up)."""
    doubled = sum(_LUHN_DOUBLED[ord(digit) - 48] for digit in digits[-2::-2])
    return (sum(map(int, digits[-1::-2])) + doubled) % 10 == 0


def _clean_siren(raw: str) -> str:
    """clean_siren, with a fast path for nine ASCII digits that pass the Luhn test."""
    if len(raw) == 9 and raw.isascii() and raw.isdigit() and _passes_luhn(raw):
        return raw
    return validation.clean_siren(raw)


def _clean_siret(raw: str) -> str:
    """clean_siret, with a fast path for plain valid numbers (La Poste's go the slow way)."""
    if (len(raw) == 14 and raw.isascii() and raw.isdigit() and not raw.startswith(_LA_POSTE)
            and _passes_luhn(raw) and _passes_luhn(raw[:9])):
        return raw
    return validation.clean_siret(raw)


def _clean_postcode(raw: str) -> str:
    """clean_postcode, with a fast path for five ASCII digits."""
    if len(raw) == 5 and raw.isascii() and raw.isdigit():
        return raw
    return validation.clean_postcode(raw)


def _clean_country(raw: str) -> str:
    """An ISO country code; "France" is accepted for FR."""
    if len(raw) == 2 and raw.isascii() and raw.isalpha() and raw.isupper():
        return raw  # what clean_country makes of it
    return _COUNTRY_NAMES.get(fold(raw)) or validation.clean_country(raw)


def _contacts(check: RowCheck) -> None:
    """Shapes of the public and private contact fields."""
    check.clean("website", _clean_url)
    check.clean("email", validation.clean_email)
    check.clean("phone", validation.clean_phone)
    check.clean("contact_email", validation.clean_email)


def _place_fields(check: RowCheck) -> None:
    """Postcode, INSEE code and country."""
    check.clean("postcode", _clean_postcode)
    check.clean("citycode", _clean_citycode)
    check.clean("country", _clean_country)
    check.values.setdefault("country", "FR")


def _record_fields(check: RowCheck) -> None:
    """Codes against their nomenclatures, dates, the ESUS flag, labels and the status."""
    check.clean("naf", nomenclatures.clean_naf)
    check.clean("categorie_juridique", nomenclatures.clean_legal_category)
    check.clean("headcount_band", nomenclatures.clean_headcount_band)
    check.clean("labels", nomenclatures.clean_labels)
    for name in ("creation_date", "esus_date", "status_date"):
        check.clean(name, validation.clean_date)
    check.clean("esus", validation.clean_flag)
    check.clean("status", validation.clean_status)


def _address(values: dict[str, Any]) -> None:
    """The display street, composed from its parts when the row gives only those."""
    parts = (values.get("street_number"), values.get("street_repetition"),
             values.get("street_type"), values.get("street_name"))
    if values.get("street") or not parts[3]:
        return
    number, repetition, kind, name = parts
    repetition = _REPETITIONS.get(repetition.upper(), repetition) if repetition else None
    values["street"] = " ".join(part for part in (number, repetition, kind, name) if part)


def _lengths(check: RowCheck) -> None:
    """Every text within its column's size (the list is made first: problems drop fields)."""
    too_long = [(name, len(text), limit) for name, text in check.values.items()
                if (limit := MAX_LENGTHS.get(name)) and isinstance(text, str) and len(text) > limit]
    for name, length, limit in too_long:
        check.problem(RowInvalid(f"{name} has {length} characters, more than {limit}", name,
                                 code="too_long"))


def _name(check: RowCheck) -> None:
    """A name is required; inner runs of spaces count as one."""
    name = " ".join((check.values.get("name") or "").split())
    if name:
        check.values["name"] = name
    else:
        check.problem(RowInvalid("a name is required", "name", code="name_missing"))


def _categories(check: RowCheck, matcher: CategoryMatcher) -> SectorMatch:
    """The sector slugs of a row, and the values no sector answers to."""
    text = check.values.pop("categories", None)
    if text is None:
        return _no_category(check, matcher)
    slugs, unknown = matcher.match(text)
    if slugs:
        return slugs, unknown
    if matcher.fallback:
        return (matcher.fallback,), unknown
    check.problem(RowInvalid(f"unknown sector {text!r}: use a slug, label or alias of "
                             "the taxonomy's categories.yaml, or map it in a mapping file",
                             "categories", code="category_unknown"))
    return (), unknown


def _no_category(check: RowCheck, matcher: CategoryMatcher) -> SectorMatch:
    """A row without a sector: the default category, else `non-classe`, else (strict) rejected."""
    chosen = matcher.default or matcher.fallback
    if chosen:
        return (chosen,), ()
    check.problem(RowInvalid("a sector is required (column catégorie / secteur, or give a "
                             "default category)", "categories", code="category_missing"))
    return (), ()


def cell_values(cells: list[str], plan: ColumnPlan) -> dict[str, Any]:
    """The non-empty cells of a row by field name (spaces trimmed, formula guard undone).

    Then the combined columns of a mapping (joined, first non-empty) and its constants.
    """
    values: dict[str, Any] = {}
    width = len(cells)
    for index, name in plan.positions:
        if index < width:
            text = cells[index].strip()
            if text:
                values[name] = restore_cell(text) if text[0] == "'" else text
    if plan.empty_values:
        values = {name: text for name, text in values.items() if text not in plan.empty_values}
    if plan.joined or plan.first_of or plan.constants:
        _combine(values, cells, plan)
    return values


def _cell(raw: str, plan: ColumnPlan) -> str:
    """A cell's text: trimmed, formula guard undone, empty when it is a mapping's empty value."""
    text = raw.strip()
    if text and text[0] == "'":
        text = restore_cell(text)
    return "" if text in plan.empty_values else text


def _combine(values: dict[str, Any], cells: list[str], plan: ColumnPlan) -> None:
    """Fill the joined and first-of fields, then the constants, where the row has none."""
    width = len(cells)
    for name, columns in plan.joined:
        parts = [text for i in columns if i < width and (text := _cell(cells[i], plan))]
        if parts and name not in values:
            values[name] = " ".join(parts)
    for name, columns in plan.first_of:
        first = next((text for i in columns if i < width and (text := _cell(cells[i], plan))),
                     None)
        if first and name not in values:
            values[name] = first
    for name, value in plan.constants:
        values.setdefault(name, value)


def _warnings(check: RowCheck, unknown: tuple[str, ...], fallback: bool) -> list[tuple[str, str]]:
    """What a maintainer should know about a kept row: dropped fields, unknown sectors."""
    warnings = [("field_dropped", f"{problem.field} dropped, the structure is kept: "
                 f"{problem.reason}") for problem in check.problems]
    if unknown:
        where = "filed under non-classe" if fallback else "ignored"
        warnings.append(("category_unknown", f"unknown sectors {where}: {', '.join(unknown)}"))
    return warnings


def clean_row(
    values: dict[str, Any], matcher: CategoryMatcher, *, file: str, line: int
) -> CleanRow:
    """Check and normalise the values of one row (raises RowInvalid naming every problem)."""
    check = RowCheck(values)
    _name(check)
    categories, unknown = _categories(check, matcher)
    lat, lon = _coordinates(check)
    _identifiers(check)
    _place_fields(check)
    _contacts(check)
    _record_fields(check)
    _address(values)
    _legal(values)
    _lengths(check)
    if check.rejects(has_point=lat is not None):
        raise RowInvalid.of_all(check.problems)
    unclassified = categories == (matcher.fallback,) and bool(unknown)
    row = CleanRow(file, line, values, categories, lat, lon, unknown_sectors=unknown)
    row.warnings.extend(_warnings(check, unknown, unclassified))
    return row
