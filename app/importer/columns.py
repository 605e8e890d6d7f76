"""Which column holds which field: French or English headers, synonyms, or a mapping file.

Headers are compared without accents, case or punctuation ("Code_Postal", "code postal"
and "CODE-POSTAL" are the same header). A mapping file names columns explicitly and wins
over the synonyms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from app.importer.faults import FileRejected
from app.models import RECORD_COLUMNS
from geocode.normalize import fold

MAX_MAPPING_BYTES = 64 * 1024
MAX_MAPPING_DEPTH = 8
# Other names of the fields, French and English; every field also answers to its own name.
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("nom", "raison sociale", "name", "denomination", "nom de la structure",
             "nom structure", "structure", "organisation", "organization", "enseigne"),
    "description": ("description", "activite", "activites", "presentation", "objet"),
    "categories": ("categorie", "categories", "secteur", "secteurs", "category", "sector",
                   "sectors", "secteur d activite", "thematique", "thematiques"),
    "legal_form": ("forme juridique", "legal form", "famille", "famille ess"),
    "legal_status": ("statut", "statut juridique", "legal status"),
    "categorie_juridique": ("categorie juridique", "code categorie juridique", "cj",
                            "nature juridique", "legal category"),
    "naf": ("code naf", "naf ape", "code ape", "ape", "activite principale", "naf code"),
    "headcount_band": ("tranche effectif", "tranche d effectif", "tranche effectif salarie",
                       "tranche d effectif salarie", "effectif", "headcount"),
    "creation_date": ("date de creation", "date creation", "creation", "cree le",
                      "creation date", "date of creation"),
    "esus": ("agrement esus", "agree esus", "esus"),
    "esus_date": ("date esus", "date agrement esus", "date de l agrement esus"),
    "labels": ("label", "agrements", "type siae", "labels"),
    "status": ("etat", "etat administratif", "statut d activite", "activity status",
               "en activite"),
    "status_date": ("date de fermeture", "date fermeture", "date de cessation",
                    "date cessation", "date de dissolution", "closed on"),
    "street_number": ("numero", "numero de voie", "n voie", "num voie", "house number"),
    "street_repetition": ("indice de repetition", "indice repetition", "btq"),
    "street_type": ("type de voie", "type voie", "street type"),
    "street_name": ("libelle voie", "libelle de voie", "nom de voie", "nom de la voie"),
    "address_complement": ("complement d adresse", "complement adresse", "complement",
                           "adresse 2", "address line 2"),
    "siren": ("siren", "n siren", "numero siren"),
    "siret": ("siret", "n siret", "numero siret"),
    "rna": ("rna", "n rna", "numero rna", "numero d association"),
    "street": ("adresse", "address", "rue", "street", "voie", "adresse postale"),
    "postcode": ("code postal", "cp", "postcode", "postal code", "zip", "zip code"),
    "city": ("commune", "ville", "city", "localite", "town"),
    "citycode": ("code insee", "insee", "code commune", "citycode", "code commune insee"),
    "country": ("pays", "country"),
    "lat": ("latitude", "lat", "y"),
    "lon": ("longitude", "lon", "lng", "long", "x"),
    "website": ("site web", "site internet", "url", "website", "site", "web"),
    "email": ("email", "e mail", "courriel", "mail", "adresse email", "adresse mail",
              "adresse e mail", "adresse electronique"),
    "phone": ("telephone", "tel", "phone", "numero de telephone", "tel fixe"),
    "source": ("source",),
    "source_id": ("source id", "id", "identifiant", "ref", "reference", "record id"),
    "contact_name": ("contact", "nom du contact", "contact name", "personne contact"),
    "contact_email": ("email contact", "contact email", "email du contact", "courriel contact"),
    "contact_phone": ("telephone contact", "contact phone", "tel contact"),
    "internal_notes": ("notes", "notes internes", "note interne", "internal notes"),
}
# What a file can feed: the record's columns (app/models.py), its place and its sectors.
FIELDS = frozenset((*RECORD_COLUMNS, "categories", "citycode", "lat", "lon"))
_PUNCTUATION = re.compile(r"[\W_]+")
_CAMEL_CASE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise_header(header: str) -> str:
    """A header's comparison key: no accents, no case, punctuation as single spaces.

    camelCase words are split first ("codePostalEtablissement" -> "code postal etablissement").
    """
    words = _CAMEL_CASE.sub(" ", header)
    return " ".join(_PUNCTUATION.sub(" ", fold(words)).split())


_SYNONYM_FIELD = {
    normalise_header(synonym): name for name in sorted(FIELDS)
    for synonym in (*FIELD_SYNONYMS.get(name, ()), name)
}


@dataclass(frozen=True)
class ColumnMapping:
    """An explicit mapping: header -> fields (none to ignore), sector values -> slugs.

    `joined` fills a field with several columns joined by a space, `first_of` with the
    first non-empty one of several; `constants` fill fields every row lacks; `synonyms`
    False matches only the named headers; `naf_sectors` maps NAF codes in the sector
    column to sectors (data/naf_sectors.csv); `empty_values` are cells that mean nothing
    (RNA's "0001-01-01").
    """

    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    categories: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    default_category: str | None = None
    constants: Mapping[str, str] = field(default_factory=dict)
    joined: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    first_of: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    synonyms: bool = True
    naf_sectors: bool = False
    empty_values: frozenset[str] = frozenset()

    def fields_for(self, header: str) -> tuple[str, ...]:
        """The fields a header feeds (the mapping first, then the synonyms)."""
        key = normalise_header(header)
        if key in self.columns:
            return self.columns[key]
        combined = (*self.joined.values(), *self.first_of.values())
        if not self.synonyms or any(key in headers for headers in combined):
            return ()
        return (_SYNONYM_FIELD[key],) if key in _SYNONYM_FIELD else ()

    def field_for(self, header: str) -> str | None:
        """The first field a header feeds, or None."""
        return next(iter(self.fields_for(header)), None)


def _alias_or_depth_problem(text: str) -> str | None:
    """Walk the YAML events: the first anchor, alias or too deep nesting stops the read.

    Aliases let a few hundred bytes expand into gigabytes (the "billion laughs"); a
    mapping never needs them.
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            return "YAML anchors and aliases (& and *) are not accepted"
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if depth > MAX_MAPPING_DEPTH:
            return f"nested deeper than {MAX_MAPPING_DEPTH} levels"
    return None


def _parse_document(text: str, origin: str, as_json: bool) -> object:
    """The parsed JSON, or the YAML once its events passed the alias and depth checks."""
    try:
        problem = None if as_json else _alias_or_depth_problem(text)
        if problem is None:
            return json.loads(text) if as_json else yaml.safe_load(text)
    except (ValueError, RecursionError, yaml.YAMLError) as error:
        kind = "JSON" if as_json else "YAML or JSON"
        raise ValueError(f"{origin}: not {kind}: {_one_line(error)}") from None
    raise ValueError(f"{origin}: {problem}")


def _one_line(error: Exception) -> str:
    """A parser's complaint on one line, with the line and column it points at."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(error).split())


def read_mapping_document(data: bytes, origin: str, *, as_json: bool = False) -> dict[str, object]:
    """A mapping document from YAML (without aliases) or JSON, at most MAX_MAPPING_BYTES."""
    if len(data) > MAX_MAPPING_BYTES:
        raise ValueError(f"{origin}: larger than the limit of {MAX_MAPPING_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{origin}: not UTF-8 text") from None
    document = _parse_document(text, origin, as_json)
    if not isinstance(document, dict):
        raise ValueError(f"{origin}: expected a mapping with a 'columns' key")
    return document


def _mapping_document(path: Path) -> dict[str, object]:
    """Read a YAML or JSON mapping file into a dict (at most one byte over the cap)."""
    with path.open("rb") as stream:
        data = stream.read(MAX_MAPPING_BYTES + 1)
    return read_mapping_document(data, f"mapping file {path.name}", as_json=path.suffix == ".json")


def _known_field(target: object, what: str, origin: str) -> str:
    """A target field name, which must be a field the importer reads."""
    if str(target) not in FIELDS:
        known = ", ".join(sorted(FIELDS))
        raise ValueError(f"{origin}: {what} maps to unknown field {target!r}; "
                         f"known fields: {known}")
    return str(target)


def _names(raw: object) -> tuple[str, ...]:
    """One name or a list of names, as a tuple (null: none)."""
    if raw is None:
        return ()
    return tuple(str(item) for item in raw) if isinstance(raw, list) else (str(raw),)


def _section(document: Mapping[str, object], name: str, origin: str) -> dict[str, object]:
    """An optional mapping section of the document."""
    raw = document.get(name) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{origin}: '{name}' must be a mapping")
    return {str(key): value for key, value in raw.items()}


def _checked_columns(raw: dict[str, object], origin: str) -> dict[str, tuple[str, ...]]:
    """The `columns` section: header -> a field, a list of fields, or null to ignore it."""
    return {normalise_header(header): tuple(
                _known_field(target, f"column {header!r}", origin) for target in _names(targets))
            for header, targets in raw.items()}


def _checked_combined(raw: dict[str, object], origin: str) -> dict[str, tuple[str, ...]]:
    """A `joined` or `first_of` section: field -> list of headers."""
    return {_known_field(target, f"{headers!r}", origin): tuple(
                normalise_header(header) for header in _names(headers))
            for target, headers in raw.items()}


MAPPING_KEYS = ("columns", "categories", "source", "default_category", "constants", "joined",
                "first_of", "synonyms", "naf_sectors", "empty_values")


def mapping_from_document(document: Mapping[str, object], origin: str) -> ColumnMapping:
    """Build a ColumnMapping from a parsed mapping document (raises ValueError)."""
    unknown = set(document) - set(MAPPING_KEYS)
    if unknown:
        raise ValueError(f"{origin}: unknown keys {sorted(unknown)}; expected "
                         f"{', '.join(MAPPING_KEYS)}")
    categories = _section(document, "categories", origin)
    constants = _section(document, "constants", origin)
    source, default_category = document.get("source"), document.get("default_category")
    return ColumnMapping(
        columns=_checked_columns(_section(document, "columns", origin), origin),
        categories={normalise_header(k): str(v) for k, v in categories.items()},
        source=str(source) if source else None,
        default_category=str(default_category) if default_category else None,
        constants={_known_field(k, "a constant", origin): str(v) for k, v in constants.items()},
        joined=_checked_combined(_section(document, "joined", origin), origin),
        first_of=_checked_combined(_section(document, "first_of", origin), origin),
        synonyms=document.get("synonyms", True) is not False,
        naf_sectors=document.get("naf_sectors") is True,
        empty_values=frozenset(_names(document.get("empty_values"))),
    )


def load_mapping(path: Path) -> ColumnMapping:
    """Read a mapping file (YAML or JSON); raise ValueError naming what is wrong."""
    return mapping_from_document(_mapping_document(path), f"mapping file {path.name}")


@dataclass(frozen=True)
class ColumnPlan:
    """Where each field is in a file's rows, which columns are ignored, what is combined.

    `joined` and `first_of` are (field, column positions); `constants` (field, value).
    """

    positions: tuple[tuple[int, str], ...]
    headers: tuple[str, ...]
    ignored: tuple[str, ...]
    joined: tuple[tuple[str, tuple[int, ...]], ...] = ()
    first_of: tuple[tuple[str, tuple[int, ...]], ...] = ()
    constants: tuple[tuple[str, str], ...] = ()
    empty_values: frozenset[str] = frozenset()

    @property
    def fields(self) -> frozenset[str]:
        """The fields this file provides."""
        combined = (name for name, _ in (*self.joined, *self.first_of, *self.constants))
        return frozenset((*(name for _, name in self.positions), *combined))

    def detected(self) -> dict[str, str]:
        """Header -> field(s), as the report shows it."""
        fields: dict[str, list[str]] = {}
        for index, name in self.positions:
            fields.setdefault(self.headers[index], []).append(name)
        for name, columns in (*self.joined, *self.first_of):
            for index in columns:
                fields.setdefault(self.headers[index], []).append(name)
        return {header: ", ".join(names) for header, names in fields.items()}


def _check_duplicates(headers: Sequence[str], assigned: Sequence[tuple[str, ...]]) -> None:
    """Two columns for one field, or the same header twice, abort the file."""
    seen: dict[str, str] = {}
    for header, names in zip(headers, assigned, strict=True):
        for key in names or (normalise_header(header),):
            if key and key in seen:
                what = f"both mean {key!r}" if names else "are the same header"
                raise FileRejected(
                    f"duplicate headers: columns {seen[key]!r} and {header!r} {what}; "
                    "remove one or name the one to use in a mapping file",
                    code="duplicate_headers",
                )
            if key:
                seen[key] = header


def _check_usable(plan: ColumnPlan, headers: Sequence[str]) -> None:
    """A file needs a name column and something to locate each row."""
    names = plan.fields
    shown = ", ".join(repr(h) for h in headers[:12])
    if not names:
        raise FileRejected(
            f"no header line: the first line ({shown}) names none of the known columns "
            "(nom, adresse, code postal, commune, latitude, longitude, siret…); "
            "add a header line or give a mapping file",
            code="no_header",
        )
    if "name" not in names:
        raise FileRejected(f"no name column (nom, raison sociale, name) among {shown}",
                           code="no_name_column")
    if ("lat" in names) != ("lon" in names):
        raise FileRejected("a latitude column needs a longitude column, and the reverse",
                           code="half_coordinates")
    if not names & {"lat", "street", "postcode", "city", "citycode"}:
        raise FileRejected(
            "no column to locate the structures: give latitude/longitude, or an address, "
            "postcode or commune",
            code="no_place_columns",
        )


def _combined(
    sections: Mapping[str, tuple[str, ...]], headers: Sequence[str]
) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(field, positions of its present columns), for the fields with at least one present."""
    index = {normalise_header(header): i for i, header in enumerate(headers)}
    found = ((name, tuple(index[h] for h in wanted if h in index))
             for name, wanted in sections.items())
    return tuple((name, positions) for name, positions in found if positions)


def plan_columns(headers: Sequence[str], mapping: ColumnMapping) -> ColumnPlan:
    """Match a header line to fields; raise FileRejected when the file cannot be read."""
    assigned = [mapping.fields_for(header) for header in headers]
    _check_duplicates(headers, assigned)
    positions = tuple((i, name) for i, names in enumerate(assigned) for name in names)
    joined, first_of = _combined(mapping.joined, headers), _combined(mapping.first_of, headers)
    used = {i for _, columns in (*joined, *first_of) for i in columns}
    ignored = tuple(h for i, (h, names) in enumerate(zip(headers, assigned, strict=True))
                    if not names and h and i not in used)
    plan = ColumnPlan(positions, tuple(headers), ignored, joined, first_of,
                      tuple(mapping.constants.items()), mapping.empty_values)
    _check_usable(plan, headers)
    return plan
