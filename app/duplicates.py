"""Probable duplicates that share no key: found after imports, decided by a maintainer.

Two rules queue a pair for review (nothing is ever merged automatically):

- `same_name_nearby`: the same normalised name, points at most 200 m apart;
- `similar_name_same_commune`: the same commune, and names that are the same once
  articles and legal-form words are dropped ("Association Les Amis du Jardin" and
  "Les Amis du Jardin"), or differ by one letter ("Jardin" / "Jardim").

A name that only contains the other ("Amis du Jardin" and "Amis du Jardin de Lyon") is
not near-identical: such a pair is not queued, and never merged.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import and_, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.errors import Conflict, InvalidParameter, NotFound
from app.models import (
    DuplicateCandidate,
    DuplicateCheckPending,
    DuplicateCheckState,
    Organisation,
    utc_now,
)
from app.queries import haversine_m
from app.storage import bulk_insert, delete_organisation, normalise_name, table_of

NEARBY_METRES = 200.0
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
    """Two keys that may name the same structure, and the rule that says so."""

    first: str
    second: str
    rule: str
    distance_m: float


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
    return "".join(char for char in text if char.isdigit())


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


def _band(lat: float) -> int:
    """The latitude band (about 222 m high) a point is in."""
    return math.floor(lat / _LAT_BAND)


Block = tuple[str, str, str, int]


def _blocks(entry: Entry) -> tuple[Block, Block]:
    """Where an entry is filed in a large commune: its numbers, start or end, and length.

    One edit leaves either the first or the last four letters of a long enough skeleton
    alone, and near-identical names have the same numbers.
    """
    skeleton, citycode, digits = entry.skeleton, entry.citycode or "", _digits(entry.skeleton)
    return ((citycode, digits, "<" + skeleton[:4], len(skeleton)),
            (citycode, digits, ">" + skeleton[-4:], len(skeleton)))


def _pair(entry: Entry, other: Entry, rule: str, distance: float) -> Pair:
    first, second = sorted((entry.key, other.key))
    return Pair(first, second, rule, round(distance, 1))


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
        band = _band(entry.lat)
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
        self.entries[entry.key] = entry
        self._by_name_band[(entry.name_key, _band(entry.lat))].append(entry)
        if entry.citycode:
            self._file_in_commune(entry, self._by_commune[entry.citycode])
        return pairs

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


def _entries_where(session: Session, condition: Any) -> Iterator[tuple[int, Entry]]:
    """Stored structures matching a condition, as (id, entry)."""
    table = table_of(Organisation)
    query = sa_select(*(table.c[name] for name in _ENTRY_COLUMNS)).where(condition)
    for row_id, key, name, citycode, lat, lon in session.connection().execute(query):
        yield row_id, make_entry(key, name, citycode, lat, lon)


def _around(entries: Iterable[Entry]) -> Any:
    """A condition selecting stored structures close enough to pair with these entries."""
    table = table_of(Organisation)
    lats, lons = zip(*((entry.lat, entry.lon) for entry in entries), strict=True)
    return and_(table.c.lat.between(min(lats) - _SEARCH_MARGIN, max(lats) + _SEARCH_MARGIN),
                table.c.lon.between(min(lons) - _SEARCH_MARGIN, max(lons) + _SEARCH_MARGIN))


def mark_for_check(*, session: Session, organisation_ids: Sequence[int]) -> None:
    """Remember structures an import updated until their duplicate check has run.

    (Inserted structures need no mark: their ids are above the checked ones.)
    """
    table = table_of(DuplicateCheckPending)
    connection = session.connection()
    for start in range(0, len(organisation_ids), 900):
        chunk = list(organisation_ids[start : start + 900])
        connection.execute(table.delete().where(table.c.organisation_id.in_(chunk)))
    bulk_insert(connection, table, ("organisation_id",), [(i,) for i in organisation_ids])


def _known_pairs(session: Session) -> set[tuple[int, int]]:
    """The (first_id, second_id) of every queued or decided pair."""
    table = table_of(DuplicateCandidate)
    query = sa_select(table.c.first_id, table.c.second_id)
    return {(first, second) for first, second in session.connection().execute(query)}


def queue_pairs(*, session: Session, pairs: Sequence[Pair], ids: Mapping[str, int]) -> int:
    """Store the pairs not queued yet (a decided pair stays decided); count the new ones."""
    known, now = _known_pairs(session), utc_now()
    rows: dict[tuple[int, int], dict[str, object]] = {}
    for pair in pairs:
        first, second = sorted((ids[pair.first], ids[pair.second]))
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


class DuplicateCheck:
    """The duplicate check of one import: its own rows as they are written, then the others.

    Rows written by the run are filed one batch at a time (so the check overlaps the
    import); `finish` then files the rows an interrupted import left unchecked and
    compares everything filed with the structures stored around it.
    """

    def __init__(self) -> None:
        self.index = DuplicateIndex()
        self.pairs: list[Pair] = []
        self.ids: dict[str, int] = {}
        self.filed_ids: set[int] = set()
        self.names: dict[str, str] = {}

    def add(self, entry: Entry, row_id: int | None = None) -> None:
        """File a row of the run (with its id once it is stored)."""
        self.pairs.extend(self.index.add(entry))
        if row_id is not None:
            self.ids[entry.key] = row_id
            self.filed_ids.add(row_id)

    def compare_with_stored(self, session: Session, *, stored_up_to: int | None = None) -> None:
        """Pair the filed rows with the other stored structures around them.

        `stored_up_to` leaves out ids above it (rows inserted since, all filed already).
        """
        if not self.index.entries:
            return
        condition = _around(self.index.entries.values())
        if stored_up_to is not None:
            condition = and_(condition, table_of(Organisation).c.id <= stored_up_to)
        for row_id, entry in _entries_where(session, condition):
            if entry.key not in self.index.entries:
                self.ids.setdefault(entry.key, row_id)
                self.names[entry.key] = entry.name
                self.pairs.extend(self.index.pairs_with(entry))

    def _unchecked_ids(self, session: Session, last_id: int) -> list[int]:
        """Inserted since the last check, or updated and marked, and not filed by this run."""
        table, pending = table_of(Organisation), table_of(DuplicateCheckPending)
        since = checked_through(session=session)
        connection = session.connection()
        inserted = connection.execute(sa_select(table.c.id).where(
            table.c.id > since, table.c.id <= last_id)).scalars()
        marked = connection.execute(sa_select(pending.c.organisation_id)).scalars()
        return [i for i in dict.fromkeys((*inserted, *marked)) if i not in self.filed_ids]

    def add_unchecked(self, session: Session, last_id: int) -> None:
        """File the rows earlier imports wrote but never checked (an interrupted run's)."""
        unchecked = self._unchecked_ids(session, last_id)
        for start in range(0, len(unchecked), 900):
            chunk = unchecked[start : start + 900]
            for row_id, entry in _entries_where(session, table_of(Organisation).c.id.in_(chunk)):
                self.add(entry, row_id)

    def name_of(self, key: str) -> str:
        """The name of a structure a pair names."""
        entry = self.index.entries.get(key)
        return entry.name if entry is not None else self.names.get(key, "")

    def finish(self, session: Session, *, stored_up_to: int) -> int:
        """Complete the check, queue the new pairs, record how far it went; count new pairs.

        `stored_up_to` is the largest id stored when the run started.
        """
        last_id = max_organisation_id(session=session)
        self.add_unchecked(session, last_id)
        self.compare_with_stored(session, stored_up_to=stored_up_to)
        queued = queue_pairs(session=session, pairs=self.pairs, ids=self.ids)
        session.connection().execute(table_of(DuplicateCheckPending).delete())
        _record_checked_through(session, last_id)
        return queued


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
    delete_organisation(session=session, organisation_id=dropped)
    return dropped


def _default_kept(session: Session, pair: tuple[int, int]) -> int:
    """The structure to keep when the maintainer does not say: a SIRET wins, then age."""
    first, second = (session.get(Organisation, i) for i in pair)
    if first is not None and second is not None and second.siret and not first.siret:
        return pair[1]
    return pair[0]
