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
from typing import Any

from sqlalchemy import and_, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.errors import Conflict, InvalidParameter, NotFound
from app.models import DuplicateCandidate, DuplicateCheckPending, Organisation, utc_now
from app.storage import delete_organisation, normalise_name, table_of

NEARBY_METRES = 200.0
EARTH_RADIUS_METRES = 6_371_000.0
MIN_TYPO_LENGTH = 6
_LAT_CELL = 0.002  # about 222 m
_LON_CELL = 0.004  # at least 250 m anywhere in France (latitude < 51.2)
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


@dataclass(frozen=True, slots=True)
class Entry:
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


def distance_metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi, half_dlambda = (phi2 - phi1) / 2, math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_METRES * math.asin(math.sqrt(a))


def within_one_edit(first: str, second: str) -> bool:
    """True when one substitution, insertion, deletion or swap of neighbours turns one into the other."""
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
    return (min(len(first), len(second)) >= MIN_TYPO_LENGTH and _digits(first) == _digits(second)
            and within_one_edit(first, second))


def _cell(entry: Entry) -> tuple[int, int]:
    return math.floor(entry.lat / _LAT_CELL), math.floor(entry.lon / _LON_CELL)


def _blocks(entry: Entry) -> tuple[tuple[str, str, int], ...]:
    """Where an entry is filed for same-commune matching: its skeleton's start and end, by size.

    One edit leaves either the first or the last four letters of a long enough skeleton alone.
    """
    skeleton, citycode = entry.skeleton, entry.citycode or ""
    return ((citycode, "<" + skeleton[:4], len(skeleton)),
            (citycode, ">" + skeleton[-4:], len(skeleton)))


class DuplicateIndex:
    """Entries filed by (name, grid cell) and by (commune, skeleton start or end, length)."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries: dict[str, Entry] = {}
        self._by_name_cell: defaultdict[tuple[str, int, int], list[str]] = defaultdict(list)
        self._by_block: defaultdict[tuple[str, str, int], list[str]] = defaultdict(list)
        for entry in entries:
            self.entries[entry.key] = entry
            self._by_name_cell[(entry.name_key, *_cell(entry))].append(entry.key)
            if entry.citycode:
                for block in _blocks(entry):
                    self._by_block[block].append(entry.key)

    def _nearby_same_name(self, entry: Entry) -> Iterator[Pair]:
        row, column = _cell(entry)
        for d_row in (-1, 0, 1):
            for d_column in (-1, 0, 1):
                for key in self._by_name_cell.get((entry.name_key, row + d_row, column + d_column),
                                                  ()):
                    yield from self._pair(entry, key, SAME_NAME_NEARBY, NEARBY_METRES)

    def _same_commune_similar(self, entry: Entry) -> Iterator[Pair]:
        if not entry.citycode:
            return
        for citycode, edge, size in _blocks(entry):
            for other_size in (size - 1, size, size + 1):
                for key in self._by_block.get((citycode, edge, other_size), ()):
                    if near_identical(entry.skeleton, self.entries[key].skeleton):
                        yield from self._pair(entry, key, SIMILAR_NAME_SAME_COMMUNE, math.inf)

    def _pair(self, entry: Entry, key: str, rule: str, within: float) -> Iterator[Pair]:
        other = self.entries[key]
        if key == entry.key:
            return
        distance = distance_metres(entry.lat, entry.lon, other.lat, other.lon)
        if distance <= within:
            first, second = sorted((entry.key, key))
            yield Pair(first, second, rule, round(distance, 1))

    def pairs_for(self, keys: Iterable[str]) -> list[Pair]:
        """Every probable duplicate of the entries with these keys (one pair per two keys)."""
        found: dict[tuple[str, str], Pair] = {}
        for key in keys:
            entry = self.entries.get(key)
            if entry is None:
                continue
            for pair in (*self._nearby_same_name(entry), *self._same_commune_similar(entry)):
                found.setdefault((pair.first, pair.second), pair)
        return sorted(found.values(), key=lambda pair: (pair.first, pair.second))


_ENTRY_COLUMNS = ("id", "key", "name", "citycode", "lat", "lon")


def _entries_where(
    session: Session, condition: Any, known: Mapping[str, Entry]
) -> dict[int, Entry]:
    """Stored structures matching a condition, as entries by id (reusing `known` ones)."""
    table = table_of(Organisation)
    query = sa_select(*(table.c[name] for name in _ENTRY_COLUMNS)).where(condition)
    entries = {}
    for row_id, key, name, citycode, lat, lon in session.connection().execute(query):
        entries[row_id] = known.get(key) or make_entry(key, name, citycode, lat, lon)
    return entries


def stored_entries(*, session: Session, known: Mapping[str, Entry] | None = None) -> dict[int, Entry]:
    """Every stored structure, as detection entries by id."""
    return _entries_where(session, true(), known or {})


def _surroundings(entries: Iterable[Entry]) -> Any:
    """A condition selecting stored structures that could pair with these entries."""
    table = table_of(Organisation)
    points = [(entry.lat, entry.lon) for entry in entries]
    lats, lons = [lat for lat, _ in points], [lon for _, lon in points]
    return and_(table.c.lat.between(min(lats) - _SEARCH_MARGIN, max(lats) + _SEARCH_MARGIN),
                table.c.lon.between(min(lons) - _SEARCH_MARGIN, max(lons) + _SEARCH_MARGIN))


def mark_for_check(*, session: Session, organisation_ids: Sequence[int]) -> None:
    """Remember structures written by an import until their duplicate check has run."""
    table = table_of(DuplicateCheckPending)
    connection = session.connection()
    for start in range(0, len(organisation_ids), 900):
        chunk = list(organisation_ids[start : start + 900])
        connection.execute(table.delete().where(table.c.organisation_id.in_(chunk)))
        connection.execute(table.insert(), [{"organisation_id": i} for i in chunk])


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


def check_pending(
    *, session: Session, known: Mapping[str, Entry] | None = None
) -> tuple[list[Pair], dict[str, Entry]]:
    """Check every structure an import wrote since the last check; queue what is new.

    `known` may hold entries the caller already built (by key) to save recomputing them.
    Returns the pairs found and the entries they name (by key).
    """
    table, known = table_of(DuplicateCheckPending), known or {}
    pending_ids = sa_select(table.c.organisation_id).scalar_subquery()
    pending = _entries_where(session, table_of(Organisation).c.id.in_(pending_ids), known)
    if not pending:
        session.connection().execute(table.delete())
        return [], {}
    nearby = _entries_where(session, _surroundings(pending.values()), known)
    index = DuplicateIndex({**nearby, **pending}.values())
    pairs = index.pairs_for(entry.key for entry in pending.values())
    queue_pairs(session=session, pairs=pairs,
                ids={entry.key: row_id for row_id, entry in {**nearby, **pending}.items()})
    session.connection().execute(table.delete())
    return pairs, index.entries


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
