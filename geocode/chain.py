"""Precise first, offline fallback: cache → BAN/addok → gazetteer, saying what happened.

A precise answer is kept only when it is good enough: score at or above `min_score`,
inside France, not contradicting the query's citycode or postcode, and (when a reverse
index is given) inside a département the query's postcode serves. Anything else falls
back to the commune gazetteer with a note naming the reason. When neither can place a
row, PlaceNotFound or AmbiguousPlace is raised: never a (0, 0), never a guess.

Only the precise geocoder's definitive answers are cached (results, not found, ambiguous);
the checks run again on cached answers, so changing `min_score` needs no cache purge.
Queries without a street go straight to the gazetteer: the commune is all they can give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from geocode.ban import is_in_france, same_commune
from geocode.base import (
    AddressQuery,
    AmbiguousPlace,
    GeocodeError,
    Geocoder,
    GeocoderBadResponse,
    GeocoderConfigError,
    GeocodeResult,
    GeocoderRateLimited,
    GeocoderUnavailable,
    PlaceNotFound,
)
from geocode.cache import CachedAnswer, GeocodeCache
from geocode.gazetteer import Gazetteer
from geocode.normalize import normalize_postcode

if TYPE_CHECKING:  # shapely loads only when a reverse index is really used
    from geocode.reverse import ReverseIndex

Answer = GeocodeResult | GeocodeError

ERROR_KINDS: tuple[tuple[type[GeocodeError], str], ...] = (
    (GeocoderRateLimited, "rate limited"),
    (GeocoderUnavailable, "unavailable"),
    (GeocoderBadResponse, "bad response"),
    (AmbiguousPlace, "ambiguous"),
    (PlaceNotFound, "no match"),
)


@runtime_checkable
class BatchGeocoder(Protocol):
    """A geocoder with a batch path (e.g. BAN's /search/csv)."""

    def geocode_many(self, queries: Sequence[AddressQuery]) -> list[Answer]:
        """Answer every query, in order; errors are returned, not raised."""
        ...


def geocoder_identity(geocoder: object) -> str:
    """Name a geocoder for cache keys: its `identity` (e.g. "ban:<url>") or its class."""
    identity = getattr(geocoder, "identity", None)
    if isinstance(identity, str) and identity:
        return identity
    return f"{type(geocoder).__module__}.{type(geocoder).__qualname__}"


def describe_error(error: GeocodeError) -> str:
    """Say in a few words what went wrong ("unavailable", "no match"…)."""
    for kind, words in ERROR_KINDS:
        if isinstance(error, kind):
            return words
    return type(error).__name__


class GeocoderChain:
    """A Geocoder trying cache, then the precise geocoder, then the offline gazetteer."""

    def __init__(
        self,
        cache: GeocodeCache | None,
        precise: Geocoder | None,
        fallback: Gazetteer,
        reverse: ReverseIndex | None = None,
        min_score: float = 0.5,
    ) -> None:
        self.cache = cache
        self.precise = precise
        self.fallback = fallback
        self.reverse = reverse
        self.min_score = min_score
        self._precise_identity = geocoder_identity(precise)
        self._precise_name = str(getattr(precise, "source", "") or type(precise).__name__)

    def geocode(self, query: AddressQuery) -> GeocodeResult:
        """Locate `query` as precisely as trustworthy; raise when it cannot be placed."""
        if query.is_empty():
            raise PlaceNotFound("nothing to look up: no street, postcode, city or citycode")
        return self._decide(query, self._precise_answer(query))

    def geocode_many(self, queries: Sequence[AddressQuery]) -> list[Answer]:
        """Locate every query, using the precise geocoder's batch path when it has one."""
        precise_answers = self._precise_answers(queries)
        return [
            self._decide_or_error(query, answer)
            for query, answer in zip(queries, precise_answers, strict=True)
        ]

    # ---------------------------------------------------------------- precise step

    def _wants_precise(self, query: AddressQuery) -> bool:
        return self.precise is not None and bool(query.street and query.street.strip())

    def _precise_answer(self, query: AddressQuery) -> Answer | None:
        if self.precise is None or not self._wants_precise(query):
            return None
        cached = self._cached(query)
        if cached is not None:
            return cached
        try:
            answer: Answer = self.precise.geocode(query)
        except GeocoderConfigError:
            raise
        except GeocodeError as error:
            answer = error
        self._remember([(query, answer)])
        return answer

    def _precise_answers(self, queries: Sequence[AddressQuery]) -> list[Answer | None]:
        answers: list[Answer | None] = [None] * len(queries)
        to_ask: list[int] = []
        for index, query in enumerate(queries):
            if self._wants_precise(query):
                answers[index] = self._cached(query)
                if answers[index] is None:
                    to_ask.append(index)
        fresh = self._ask_many([queries[index] for index in to_ask])
        for index, answer in zip(to_ask, fresh, strict=True):
            answers[index] = answer
        self._remember(
            [(queries[index], answer) for index, answer in zip(to_ask, fresh, strict=True)]
        )
        return answers

    def _ask_many(self, queries: Sequence[AddressQuery]) -> list[Answer]:
        if not queries or self.precise is None:
            return []
        if isinstance(self.precise, BatchGeocoder):
            return self.precise.geocode_many(queries)
        return [self._ask_one(self.precise, query) for query in queries]

    @staticmethod
    def _ask_one(precise: Geocoder, query: AddressQuery) -> Answer:
        try:
            return precise.geocode(query)
        except GeocoderConfigError:
            raise
        except GeocodeError as error:
            return error

    def _cached(self, query: AddressQuery) -> CachedAnswer | None:
        if self.cache is None:
            return None
        return self.cache.get(query, self._precise_identity)

    def _remember(self, answers: Sequence[tuple[AddressQuery, Answer]]) -> None:
        if self.cache is None:
            return
        definitive: list[tuple[AddressQuery, CachedAnswer]] = [
            (query, answer)
            for query, answer in answers
            if isinstance(answer, GeocodeResult | PlaceNotFound | AmbiguousPlace)
        ]
        if definitive:
            self.cache.put_many(self._precise_identity, definitive)

    # ---------------------------------------------------------------- decision

    def _decide_or_error(self, query: AddressQuery, precise: Answer | None) -> Answer:
        if query.is_empty():
            return PlaceNotFound("nothing to look up: no street, postcode, city or citycode")
        try:
            return self._decide(query, precise)
        except (PlaceNotFound, AmbiguousPlace) as error:
            return error

    def _decide(self, query: AddressQuery, precise: Answer | None) -> GeocodeResult:
        if isinstance(precise, GeocoderConfigError):
            raise precise
        if isinstance(precise, GeocodeResult):
            objection = self._objection(query, precise)
            if objection is None:
                return precise
            return self._fall_back(query, objection)
        if precise is None:
            return self._fall_back(query, None)
        return self._fall_back(query, self._error_reason(precise))

    def _error_reason(self, error: GeocodeError) -> str:
        message = str(error).removeprefix(f"{self._precise_name}: ")
        return f"{self._precise_name}: {describe_error(error)} ({message})"

    def _objection(self, query: AddressQuery, result: GeocodeResult) -> str | None:
        """Why the precise `result` is not trusted for `query`, or None when it is."""
        name = self._precise_name
        if result.score < self.min_score:
            return f"{name}: score {result.score:.2f} below {self.min_score:g}"
        if not is_in_france(result.lat, result.lon):
            return f"{name}: point ({result.lat}, {result.lon}) is outside France"
        return self._contradiction(query, result) or self._wrong_departement(query, result)

    def _contradiction(self, query: AddressQuery, result: GeocodeResult) -> str | None:
        name = self._precise_name
        citycode = (query.citycode or "").strip().upper()
        if citycode and not same_commune(citycode, result.citycode):
            return f"{name}: citycode {result.citycode} contradicts {citycode}"
        postcode = normalize_postcode(query.postcode)
        if postcode and result.postcode and result.postcode != postcode:
            return f"{name}: postcode {result.postcode} contradicts {postcode}"
        return None

    def _wrong_departement(self, query: AddressQuery, result: GeocodeResult) -> str | None:
        postcode = normalize_postcode(query.postcode)
        if self.reverse is None or postcode is None:
            return None
        place = self.reverse.locate(result.lat, result.lon)
        expected = self.fallback.departements_of_postcode(postcode)
        if place is None or place.departement in expected:
            return None
        wanted = "/".join(sorted(expected))
        return (
            f"{self._precise_name}: point is in département {place.departement}, "
            f"postcode {postcode} is in {wanted}"
        )

    def _fall_back(self, query: AddressQuery, reason: str | None) -> GeocodeResult:
        try:
            result = self.fallback.geocode(query)
        except (PlaceNotFound, AmbiguousPlace) as error:
            if reason is None:
                raise
            raise type(error)(f"{error}; {reason}") from error
        if reason is None:
            return result
        return replace(result, notes=(*result.notes, f"{reason}; fell back to gazetteer"))
