"""Probable duplicates that share no key: found after imports, decided by a maintainer.

Two rules queue a pair for review (nothing is ever merged automatically):

- `same_name_nearby`: the same normalised name, points at most 200 m apart;
- `similar_name_same_commune`: the same commune, and names that are the same once
  articles and legal-form words are dropped ("Association Les Amis du Jardin" and
  "Les Amis du Jardin"), or differ by one letter ("Jardin" / "Jardim").

- `same_siren` / `same_rna`: two structures with one SIREN (when one of them has no SIRET:
  two SIRETs are two establishments) or one RNA number. Each structure written is paired
  with the first stored one that shares its identifier, so a big network gives one pair
  per structure, not one per couple.

A name that only contains the other ("Amis du Jardin" and "Amis du Jardin de Lyon") is
not near-identical: such a pair is not queued, and never merged.

The check is index-driven: every checked structure has its name keys filed in the
`duplicate_name` table (by normalised name and latitude band, and by commune, numbers,
length and first or last four letters of its skeleton). An import checks each batch
inside the transaction that writes it, a slice of rows at a time (grouped by commune),
against the candidates those indexes give, so its memory follows the slice, not the
batch nor the file, and a killed import leaves no written row unchecked.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, tuple_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.errors import Conflict, InvalidParameter, NotFound
from app.models import (
    DuplicateCandidate,
    DuplicateCheckPending,
    DuplicateCheckState,
    DuplicateName,
    Organisation,
    utc_now,
)
from app.queries import haversine_m
from app.storage import bulk_insert, delete_organisation, normalise_name, table_of

NEARBY_METRES = 200.0
_NOT_DIGITS = re.compile(r"[^0-9]+")
MIN_TYPO_LENGTH = 6
_LAT_BAND = 0.002  # about 222 m
SMALL_COMMUNE = 64  # up to this many structures, a commune is compared name by name
_SEARCH_MARGIN = 0.01  # degrees around the pending points where stored ones are compared
_IGNORED_WORDS = frozenset({
    "le", "la", "les", "l", "de", "du", "des", "d", "et", "a", "au", "aux", "en", "the", "of",
    "and", "association", "asso", "scop", "scic", "sarl", "sas", "sasu", "sa", "eurl",
    "cooperative", "coop", "fondation", "mutuelle", "gie", "esus",
})
SAME_NAME_NEARBY = "same_name_nearby"
SAME_SIREN, SAME_RNA = "same_siren", "same_rna"
SIMILAR_NAME_SAME_COMMUNE = "similar_name_same_commune"


def name_skeleton(name_key: str) -> str:
    """A normalised name without articles and legal-form words, spaces removed."""
    words = name_key.split()
    kept = [word for word in words if word not in _IGNORED_WORDS]
    return "".join(kept or words)


class Entry(NamedTuple):
    """What duplicate detection needs of one structure (its name keys computed once)."""

    key: str
    name: str
    citycode: str | None
    lat: float
    lon: float
    name_key: str
    skeleton: str


def make_entry(
    key: str, name: str, citycode: str | None, lat: float, lon: float,
    name_key: str | None = None,
) -> Entry:
    """An entry, normalising its name unless the caller already did."""
    name_key = normalise_name(name) if name_key is None else name_key
    return Entry(key, name, citycode, lat, lon, name_key, name_skeleton(name_key))


@dataclass(frozen=True)
class Pair:
    """Two keys that may name the same structure, the rule that says so, and their names."""

    first: str
    second: str
    rule: str
    distance_m: float | None
    first_name: str = ""
    second_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as import reports list it."""
        return {"first": self.first, "first_name": self.first_name, "second": self.second,
                "second_name": self.second_name, "rule": self.rule,
                "distance_m": self.distance_m}


def within_one_edit(first: str, second: str) -> bool:
    """True when one substitution, insertion, deletion or swap turns one into the other."""
    if abs(len(first) - len(second)) > 1:
        return False
    shortest = min(len(first), len(second))
    i = next((i for i in range(shortest) if first[i] != second[i]), shortest)
    if len(first) != len(second):
        longer, shorter = (first, second) if len(first) > len(second) else (second, first)
        return longer[i + 1 :] == shorter[i:]
    swapped = first[i + 1 : i + 2] + first[i : i + 1] == second[i : i + 2]
    return first[i + 1 :] == second[i + 1 :] or (swapped and first[i + 2 :] == second[i + 2 :])


def _digits(text: str) -> str:
    return _NOT_DIGITS.sub("", text)


def near_identical(first: str, second: str) -> bool:
    """Same skeleton, or one letter apart (numbers must match: "Resto 12" is not "Resto 13")."""
    if first == second:
        return True
    if min(len(first), len(second)) < MIN_TYPO_LENGTH or abs(len(first) - len(second)) > 1:
        return False
    # One edit of a long enough name leaves its first two or its last two letters alone.
    if first[:2] != second[:2] and first[-2:] != second[-2:]:
        return False
    return within_one_edit(first, second) and _digits(first) == _digits(second)


def lat_band(lat: float) -> int:
    """The latitude band (about 222 m high) a point is in.

    Two points NEARBY_METRES apart or closer are in the same band or next to each other.
    """
    return math.floor(lat / _LAT_BAND)


Block = tuple[str, str, str, int]
# Up to this length a skeleton is also filed by length alone: one edit of a shorter name
# can change both its first and its last four letters.
SHORT_SKELETON = 10
_SHORT = "#"


def _blocks(entry: Entry) -> list[Block]:
    """Where an entry is filed in a large commune: its numbers, start or end, and length.

    One edit leaves either the first or the last four letters of a skeleton of nine
    letters or more alone, and near-identical names have the same numbers; shorter
    skeletons are also filed by their length alone.
    """
    skeleton, citycode, digits = entry.skeleton, entry.citycode or "", _digits(entry.skeleton)
    blocks = [(citycode, digits, "<" + skeleton[:4], len(skeleton)),
              (citycode, digits, ">" + skeleton[-4:], len(skeleton))]
    if len(skeleton) <= SHORT_SKELETON:
        blocks.append((citycode, digits, _SHORT, len(skeleton)))
    return blocks


def _pair(entry: Entry, other: Entry, rule: str, distance: float) -> Pair:
    first, second = sorted((entry, other), key=lambda named: named.key)
    return Pair(first.key, second.key, rule, round(distance, 1), first.name, second.name)


class DuplicateIndex:
    """Entries filed by (name, latitude band) and by commune; grows one entry at a time."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self._by_name_band: defaultdict[tuple[str, int], list[Entry]] = defaultdict(list)
        self._by_commune: defaultdict[str, list[Entry]] = defaultdict(list)
        self._by_block: defaultdict[Block, list[Entry]] = defaultdict(list)

    def _same_commune(self, entry: Entry) -> Iterable[Entry]:
        """The entries of the entry's commune that could have a near-identical name."""
        neighbours = self._by_commune.get(entry.citycode or "", [])
        if len(neighbours) <= SMALL_COMMUNE:
            return neighbours
        return [other for citycode, digits, edge, size in _blocks(entry)
                for other_size in (size - 1, size, size + 1)
                for other in self._by_block.get((citycode, digits, edge, other_size), ())]

    def pairs_with(self, entry: Entry) -> list[Pair]:
        """The probable duplicates of `entry` among the filed entries (one pair per other)."""
        found: dict[str, Pair] = {}
        band = lat_band(entry.lat)
        for other_band in (band - 1, band, band + 1):
            for other in self._by_name_band.get((entry.name_key, other_band), ()):
                distance = haversine_m(entry.lat, entry.lon, other.lat, other.lon)
                if distance <= NEARBY_METRES and other.key != entry.key:
                    found[other.key] = _pair(entry, other, SAME_NAME_NEARBY, distance)
        for other in self._same_commune(entry) if entry.citycode else ():
            if (other.key not in found and other.key != entry.key
                    and near_identical(entry.skeleton, other.skeleton)):
                distance = haversine_m(entry.lat, entry.lon, other.lat, other.lon)
                found[other.key] = _pair(entry, other, SIMILAR_NAME_SAME_COMMUNE, distance)
        return list(found.values())

    def add(self, entry: Entry) -> list[Pair]:
        """File an entry and return its probable duplicates among those filed before it."""
        if entry.key in self.entries:
            return []
        pairs = self.pairs_with(entry)
        self.file(entry)
        return pairs

    def file(self, entry: Entry) -> None:
        """File an entry without looking for its duplicates."""
        if entry.key in self.entries:
            return
        self.entries[entry.key] = entry
        self._by_name_band[(entry.name_key, lat_band(entry.lat))].append(entry)
        if entry.citycode:
            self._file_in_commune(entry, self._by_commune[entry.citycode])

    def _file_in_commune(self, entry: Entry, neighbours: list[Entry]) -> None:
        """File by commune; a commune that grows large is also filed by name blocks."""
        neighbours.append(entry)
        if len(neighbours) <= SMALL_COMMUNE:
            return
        newly_large = len(neighbours) == SMALL_COMMUNE + 1
        for filed in neighbours if newly_large else (entry,):
            for block in _blocks(filed):
                self._by_block[block].append(filed)


_ENTRY_COLUMNS = ("id", "key", "name", "citycode", "lat", "lon")
_ROWS_PER_QUERY = 900
_TUPLES_PER_QUERY = 200


def _entries_where(session: Session, condition: Any) -> Iterator[tuple[int, Entry]]:
    """Stored structures matching a condition, as (id, entry)."""
    table = table_of(Organisation)
    query = sa_select(*(table.c[name] for name in _ENTRY_COLUMNS)).where(condition)
    for row_id, key, name, citycode, lat, lon in session.connection().execute(query):
        yield row_id, make_entry(key, name, citycode, lat, lon)


def _filed_where(session: Session, condition: Any) -> Iterator[tuple[int, Entry]]:
    """Checked structures (filed in duplicate_name) matching a condition, as (id, entry)."""
    names, table = table_of(DuplicateName), table_of(Organisation)
    query = sa_select(table.c.id, table.c.key, table.c.name, table.c.citycode, table.c.lat,
                      table.c.lon, names.c.name_key, names.c.skeleton).join(
        names, names.c.organisation_id == table.c.id).where(condition)
    for row_id, key, name, citycode, lat, lon, name_key, skeleton in (
            session.connection().execute(query)):
        yield row_id, Entry(key, name, citycode, lat, lon, name_key, skeleton)


def _in_slices(values: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _in_padded_slices(values: Sequence[Any], size: int) -> Iterator[list[Any]]:
    """Slices of `size` values, a shorter one padded to a power of two (its last value again).

    A query's SQL text changes with its number of values: with a few lengths, the
    connection's statement cache keeps a few statements and reuses them (one per
    remainder length grew SQLite's memory as the check runs per slice).
    """
    for chunk in _in_slices(values, size):
        length = min(size, 1 << (len(chunk) - 1).bit_length())
        yield chunk + chunk[-1:] * (length - len(chunk))


Lookup = tuple[str, str, str, int]


def _block_lookups(entries: Iterable[Entry]) -> tuple[set[Lookup], set[Lookup], set[Lookup]]:
    """(head, tail, short) lookups into duplicate_name: commune, numbers, letters, length."""
    heads: set[Lookup] = set()
    tails: set[Lookup] = set()
    shorts: set[Lookup] = set()
    for entry in entries:
        if not entry.citycode:
            continue
        skeleton, digits, size = entry.skeleton, _digits(entry.skeleton), len(entry.skeleton)
        heads.add((entry.citycode, digits, skeleton[:4], size))
        tails.add((entry.citycode, digits, skeleton[-4:], size))
        if size <= SHORT_SKELETON:
            shorts.add((entry.citycode, digits, "", size))
    return heads, tails, shorts


def _any_lookup(letters: str | None, lookups: list[Lookup]) -> Any:
    """A condition matching any of the lookups (length within one), each through an index."""
    names = table_of(DuplicateName)
    terms = [and_(names.c.citycode == citycode, names.c.digits == digits,
                  *((names.c[letters] == text,) if letters else ()),
                  names.c.length.between(size - 1, size + 1))
             for citycode, digits, text, size in lookups]
    return or_(*terms)


def _block_condition(letters: str | None, lookups: list[Lookup]) -> tuple[str, list[Any]]:
    """The same condition as SQL text with qmark parameters (compiling it costs more)."""
    column = f" AND d.{letters} = ?" if letters else ""
    term = f"(d.citycode = ? AND d.digits = ?{column} AND d.length BETWEEN ? AND ?)"
    parameters: list[Any] = []
    for citycode, digits, text, size in lookups:
        parameters += [citycode, digits, *((text,) if letters else ()), size - 1, size + 1]
    return " OR ".join([term] * len(lookups)), parameters


_FILED_SQL = (
    "SELECT o.id, o.key, o.name, o.citycode, o.lat, o.lon, d.name_key, d.skeleton "
    "FROM duplicate_name AS d JOIN organisation AS o ON o.id = d.organisation_id WHERE ")


def _filed_matching(
    session: Session, sql: str, parameters: Sequence[Any], condition: Callable[[], Any]
) -> Iterator[tuple[int, Entry]]:
    """Checked structures matching a condition, given two ways.

    On SQLite as `sql` with qmark `parameters` (compiling the condition costs more),
    elsewhere as `condition()`.
    """
    connection = session.connection()
    if connection.dialect.paramstyle != "qmark":
        yield from _filed_where(session, condition())
        return
    for row_id, key, name, citycode, lat, lon, name_key, skeleton in (
            connection.exec_driver_sql(_FILED_SQL + sql, tuple(parameters))):
        yield row_id, Entry(key, name, citycode, lat, lon, name_key, skeleton)


def _filed_in_blocks(
    session: Session, letters: str | None, lookups: list[Lookup]
) -> Iterator[tuple[int, Entry]]:
    """Checked structures in any of these blocks."""
    sql, parameters = _block_condition(letters, lookups)
    return _filed_matching(session, sql, parameters, lambda: _any_lookup(letters, lookups))


_NAMED_SQL = "(d.name_key = ? AND d.band BETWEEN ? AND ?)"


def _filed_by_name(
    session: Session, lookups: list[tuple[str, int]]
) -> Iterator[tuple[int, Entry]]:
    """Checked structures of these names in these latitude bands or the next ones."""
    names = table_of(DuplicateName)
    parameters = [value for name_key, band in lookups for value in (name_key, band - 1, band + 1)]
    return _filed_matching(
        session, " OR ".join([_NAMED_SQL] * len(lookups)), parameters,
        lambda: or_(*(and_(names.c.name_key == name_key, names.c.band.between(band - 1, band + 1))
                      for name_key, band in lookups)))


def stored_candidates(session: Session, entries: Sequence[Entry]) -> dict[int, Entry]:
    """Checked structures that could pair with these entries, found through the indexes.

    The same name is looked up in the entry's latitude band and the two next to it only
    (the rule wants it within NEARBY_METRES): a name that thousands of structures share
    across France ("comité des fêtes") brings the few around, not all of them.
    """
    found: dict[int, Entry] = {}
    named = sorted({(entry.name_key, lat_band(entry.lat)) for entry in entries})
    for chunk in _in_padded_slices(named, _TUPLES_PER_QUERY):
        found.update(_filed_by_name(session, chunk))
    heads, tails, shorts = _block_lookups(entries)
    for letters, lookups in (("head", heads), ("tail", tails), (None, shorts)):
        for chunk in _in_padded_slices(sorted(lookups), _TUPLES_PER_QUERY):
            found.update(_filed_in_blocks(session, letters, chunk))
    return found


def _name_row(row_id: int, entry: Entry) -> tuple[Any, ...]:
    """The duplicate_name row of a structure."""
    skeleton = entry.skeleton
    return (row_id, entry.name_key, skeleton, entry.citycode or "", _digits(skeleton),
            len(skeleton), skeleton[:4], skeleton[-4:], lat_band(entry.lat))


_NAME_COLUMNS = ("organisation_id", "name_key", "skeleton", "citycode", "digits", "length",
                 "head", "tail", "band")


def _forget(session: Session, organisation_ids: Sequence[int]) -> None:
    """Remove the filed names of these structures (they are about to be filed again)."""
    names, connection = table_of(DuplicateName), session.connection()
    for chunk in _in_slices(organisation_ids, _ROWS_PER_QUERY):
        connection.execute(names.delete().where(names.c.organisation_id.in_(chunk)))


# Rows checked at a time: the stored candidates held in memory are those of one slice.
SLICE_ROWS = 2000
Numbered = tuple[int, Entry]  # (organisation id, or position in a batch; entry)


def commune_slices(rows: Sequence[Numbered]) -> Iterator[list[Numbered]]:
    """The rows by commune, in slices of at most SLICE_ROWS.

    A commune's rows share most of their candidates, so they stay in one slice unless
    the commune alone is larger than a slice.
    """
    by_commune: defaultdict[str, list[Numbered]] = defaultdict(list)
    for row in rows:
        by_commune[row[1].citycode or ""].append(row)
    pending: list[Numbered] = []
    for citycode in sorted(by_commune):
        commune = by_commune.pop(citycode)
        if len(pending) + len(commune) > SLICE_ROWS and pending:
            yield pending
            pending = []
        while len(commune) > SLICE_ROWS:
            yield commune[:SLICE_ROWS]
            commune = commune[SLICE_ROWS:]
        pending += commune
    if pending:
        yield pending


def _filed_index(entries: Iterable[Entry]) -> DuplicateIndex:
    """An index with these entries filed."""
    index = DuplicateIndex()
    for entry in entries:
        index.file(entry)
    return index


def _check_slice(session: Session, rows: Sequence[Numbered]) -> tuple[list[Pair], dict[str, int]]:
    """Pair a slice's rows with the filed structures and each other, then file them.

    Returns the pairs and the ids of their structures. Filed before the next slice is
    checked, these rows are among its stored candidates, so a pair across two slices is
    found there: duplicate_name.citycode, which the lookups read, is the organisation's
    citycode, which the index compares (`_name_row` files the entry of the written row).
    """
    candidates = stored_candidates(session, [entry for _, entry in rows])
    index = _filed_index(candidates.values())
    pairs = [pair for _, entry in rows for pair in index.add(entry)]
    bulk_insert(session.connection(), table_of(DuplicateName), _NAME_COLUMNS,
                [_name_row(row_id, entry) for row_id, entry in rows])
    ids = {entry.key: row_id for row_id, entry in (*candidates.items(), *rows)}
    return pairs, {key: ids[key] for pair in pairs for key in (pair.first, pair.second)}


def _in_batch_order(pairs: list[Pair], written: Sequence[Numbered]) -> list[Pair]:
    """The pairs by the later of their rows in the batch: queued in that order, as before slices.

    The review lists pending pairs in the order they were queued.
    """
    position = {entry.key: i for i, (_, entry) in enumerate(written)}
    return sorted(pairs, key=lambda pair: max(position.get(pair.first, -1),
                                              position.get(pair.second, -1)))


def check_written(session: Session, written: Sequence[Numbered]) -> list[Pair]:
    """Check structures just written against the checked ones and each other; file them.

    Run inside the transaction that wrote them, a slice at a time. Returns the pairs
    found (queued unless they were queued or decided before).
    """
    if not written:
        return []
    # All forgotten first: an updated row of a later slice must not pair under its old name.
    _forget(session, [row_id for row_id, _ in written])
    pairs: list[Pair] = []
    ids: dict[str, int] = {}
    for rows in commune_slices(written):
        found, found_ids = _check_slice(session, rows)
        pairs += found
        ids.update(found_ids)
    pairs = _in_batch_order(pairs, written)
    identified, identified_keys = shared_identifier_pairs(session, [i for i, _ in written])
    pairs += identified
    ids.update((key, row_id) for row_id, key in identified_keys.items())
    ids.update((entry.key, row_id) for row_id, entry in written)
    # Queued once for the batch: a pair found by its names and by its SIREN is queued
    # once, by its SIREN (the later one), whichever slices found it.
    queue_pairs(session=session, pairs=pairs, ids=ids)
    return pairs


def _first_sharing(column: str, ids: list[int]) -> Any:
    """(written id, key, name, first other id) of written rows sharing `column` with another."""
    table = table_of(Organisation)
    other = table.alias("other")
    first_other = sa_select(func.min(other.c.id)).where(
        other.c[column] == table.c[column], other.c.id != table.c.id)
    if column == "siren":  # two SIRETs of one SIREN are two establishments, not duplicates
        first_other = first_other.where(or_(other.c.siret.is_(None), table.c.siret.is_(None)))
    return sa_select(table.c.id, table.c.key, table.c.name, first_other.scalar_subquery()
                     ).where(table.c.id.in_(ids), table.c[column].is_not(None))


def shared_identifier_pairs(
    session: Session, ids: Sequence[int]
) -> tuple[list[Pair], dict[int, str]]:
    """Pairs of written structures with the first other one sharing their SIREN or RNA.

    Index-driven (siren and rna are indexed); also returns the other structures' keys.
    """
    table, connection = table_of(Organisation), session.connection()
    found: list[tuple[str, int, str, str]] = []
    for rule, column in ((SAME_SIREN, "siren"), (SAME_RNA, "rna")):
        for chunk in _in_slices(list(ids), _ROWS_PER_QUERY):
            found += [(rule, other, key, name) for _, key, name, other
                      in connection.execute(_first_sharing(column, chunk)) if other is not None]
    others = {row_id: (key, name) for row_id, key, name in connection.execute(
        sa_select(table.c.id, table.c.key, table.c.name).where(
            table.c.id.in_(sorted({other for _, other, _, _ in found}))))}
    pairs = [Pair(others[other][0], key, rule, None, others[other][1], name)
             for rule, other, key, name in found]
    return pairs, {row_id: key for row_id, (key, _) in others.items()}


def _known_pairs(session: Session, pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """The pairs among these (first_id, second_id) already queued or decided."""
    table = table_of(DuplicateCandidate)
    wanted = sorted(set(pairs))
    known: set[tuple[int, int]] = set()
    for chunk in _in_slices(wanted, _TUPLES_PER_QUERY):
        query = sa_select(table.c.first_id, table.c.second_id).where(
            tuple_(table.c.first_id, table.c.second_id).in_(chunk))
        known.update((first, second) for first, second in session.connection().execute(query))
    return known


def queue_pairs(*, session: Session, pairs: Sequence[Pair], ids: Mapping[str, int]) -> int:
    """Store the pairs not queued yet (a decided pair stays decided); count the new ones."""
    if not pairs:
        return 0
    id_pairs = [tuple(sorted((ids[pair.first], ids[pair.second]))) for pair in pairs]
    known, now = _known_pairs(session, id_pairs), utc_now()  # type: ignore[arg-type]
    rows: dict[tuple[int, int], dict[str, object]] = {}
    for pair, (first, second) in zip(pairs, id_pairs, strict=True):
        if (first, second) not in known:
            rows[(first, second)] = {"first_id": first, "second_id": second, "rule": pair.rule,
                                     "distance_m": pair.distance_m, "created_at": now}
    if rows:
        table = table_of(DuplicateCandidate)
        session.connection().execute(table.insert(), list(rows.values()))
    return len(rows)


def checked_through(*, session: Session) -> int:
    """Every structure up to this id has been through the duplicate check."""
    table = table_of(DuplicateCheckState)
    found = session.connection().execute(sa_select(table.c.checked_through)).scalar()
    return int(found or 0)


def _record_checked_through(session: Session, last_id: int) -> None:
    table = table_of(DuplicateCheckState)
    connection = session.connection()
    if connection.execute(table.update().values(checked_through=last_id)).rowcount == 0:
        connection.execute(table.insert().values(id=1, checked_through=last_id))


def file_checked_before(session: Session) -> None:
    """File the names of structures checked before duplicate_name existed (once).

    Run before an import writes, so its batches are compared with them.
    """
    names, table = table_of(DuplicateName), table_of(Organisation)
    connection = session.connection()
    through = checked_through(session=session)
    if not through or connection.execute(sa_select(names.c.organisation_id).limit(1)).first():
        return
    ids = list(connection.execute(sa_select(table.c.id).where(table.c.id <= through)).scalars())
    for chunk in _in_slices(ids, _ROWS_PER_QUERY):
        bulk_insert(connection, names, _NAME_COLUMNS, [
            _name_row(row_id, entry)
            for row_id, entry in _entries_where(session, table.c.id.in_(chunk))])


def unchecked_ids(session: Session) -> list[int]:
    """Structures written without a duplicate check (by the API, or before an upgrade)."""
    table, names = table_of(Organisation), table_of(DuplicateName)
    pending = table_of(DuplicateCheckPending)
    connection = session.connection()
    unfiled = connection.execute(
        sa_select(table.c.id).outerjoin(names, names.c.organisation_id == table.c.id)
        .where(table.c.id > checked_through(session=session),
               names.c.organisation_id.is_(None))).scalars()
    marked = connection.execute(sa_select(pending.c.organisation_id)).scalars()
    return list(dict.fromkeys((*unfiled, *marked)))


def check_unchecked(session: Session) -> list[Pair]:
    """Check every structure written without a check; record how far the check went."""
    pairs: list[Pair] = []
    unchecked = unchecked_ids(session)
    for chunk in _in_slices(unchecked, _ROWS_PER_QUERY):
        entries = list(_entries_where(session, table_of(Organisation).c.id.in_(chunk)))
        pairs.extend(check_written(session, entries))
    session.connection().execute(table_of(DuplicateCheckPending).delete())
    _record_checked_through(session, max_organisation_id(session=session))
    return pairs


class DryRunCheck:
    """The duplicate check of a dry run: the rows it would write, against the checked ones.

    Nothing is written, so the run's own rows are filed in memory (one entry per row
    the dry run would insert or update).
    """

    def __init__(self) -> None:
        self.index = DuplicateIndex()
        self.pairs: list[Pair] = []

    def add_batch(self, session: Session, entries: Sequence[Entry]) -> None:
        """Pair a batch's rows with the checked structures and the run's earlier rows."""
        stored = _stored_pairs(session, entries)
        for position, entry in enumerate(entries):
            found = {pair.second if pair.first == entry.key else pair.first: pair
                     for pair in (*stored.get(position, ()), *self.index.add(entry))}
            self.pairs.extend(found.values())


def _stored_pairs(session: Session, entries: Sequence[Entry]) -> dict[int, list[Pair]]:
    """The entries' pairs with the checked structures by position, a slice at a time.

    The run's own rows are then paired in the batch's order, as without slices.
    """
    found: dict[int, list[Pair]] = {}
    for rows in commune_slices(list(enumerate(entries))):
        index = _filed_index(stored_candidates(session, [entry for _, entry in rows]).values())
        for position, entry in rows:
            if pairs := index.pairs_with(entry):
                found[position] = pairs
    return found


def max_organisation_id(*, session: Session) -> int:
    """The largest id stored (0 when empty): rows inserted later have larger ones."""
    table = table_of(Organisation)
    found = session.connection().execute(sa_select(func.max(table.c.id))).scalar()
    return int(found or 0)


# --- the review: list, merge, dismiss ------------------------------------------------


@dataclass(frozen=True)
class CandidateView:
    """A queued pair with enough of both structures to decide."""

    id: int
    rule: str
    status: str
    distance_m: float | None
    first: Organisation
    second: Organisation


def list_candidates(*, session: Session, status: str | None = "pending") -> list[CandidateView]:
    """Queued pairs (pending ones by default), oldest first."""
    query = select(DuplicateCandidate).order_by(col(DuplicateCandidate.id))
    if status:
        query = query.where(col(DuplicateCandidate.status) == status)
    views = []
    for candidate in session.exec(query).all():
        first = session.get(Organisation, candidate.first_id)
        second = session.get(Organisation, candidate.second_id)
        if first and second and candidate.id is not None:
            views.append(CandidateView(candidate.id, candidate.rule, candidate.status,
                                       candidate.distance_m, first, second))
    return views


def _pending_candidate(session: Session, candidate_id: int) -> DuplicateCandidate:
    """The candidate with this id, which must still await a decision."""
    candidate = session.get(DuplicateCandidate, candidate_id)
    if candidate is None:
        raise NotFound(f"no duplicate candidate {candidate_id}")
    if candidate.status != "pending":
        raise Conflict(f"duplicate candidate {candidate_id} is already {candidate.status}")
    return candidate


def dismiss_candidate(*, session: Session, candidate_id: int) -> DuplicateCandidate:
    """Decide that the two structures are different; the pair is never queued again."""
    candidate = _pending_candidate(session, candidate_id)
    candidate.status, candidate.decided_at = "dismissed", utc_now()
    session.add(candidate)
    return candidate


def merge_candidate(*, session: Session, candidate_id: int, keep_id: int | None = None) -> int:
    """Keep one structure as it is, delete the other into the suppression list; return its id.

    By default the one with a SIRET is kept, else the older one.
    """
    candidate = _pending_candidate(session, candidate_id)
    pair = (candidate.first_id, candidate.second_id)
    if keep_id is not None and keep_id not in pair:
        raise InvalidParameter(f"keep must be {pair[0]} or {pair[1]}, got {keep_id}",
                               parameter="keep")
    kept = keep_id if keep_id is not None else _default_kept(session, pair)
    dropped = pair[1] if kept == pair[0] else pair[0]
    # The pair (and any other pair of the dropped structure) goes with it: ON DELETE CASCADE.
    delete_organisation(session=session, organisation_id=dropped, merged_into=kept)
    return dropped


def _default_kept(session: Session, pair: tuple[int, int]) -> int:
    """The structure to keep when the maintainer does not say: a SIRET wins, then age."""
    first, second = (session.get(Organisation, i) for i in pair)
    if first is not None and second is not None and second.siret and not first.siret:
        return pair[1]
    return pair[0]
