"""The shapes every geocoder shares: the query, the result, the protocol and the error tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Precision(StrEnum):
    """How precisely a point locates the address it was asked for (best first)."""

    HOUSENUMBER = "housenumber"
    STREET = "street"
    LOCALITY = "locality"
    MUNICIPALITY = "municipality"
    POSTCODE = "postcode"

    @property
    def rank(self) -> int:
        """0 for the most precise kind, larger for coarser ones."""
        return list(Precision).index(self)


@dataclass(frozen=True)
class AddressQuery:
    """What we know of a place: any part may be missing."""

    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    citycode: str | None = None
    country: str = "FR"

    def is_empty(self) -> bool:
        """True when there is nothing to look up."""
        return not any((self.street, self.postcode, self.city, self.citycode))


@dataclass(frozen=True)
class GeocodeResult:
    """A located point and how it was found."""

    lat: float
    lon: float
    label: str
    score: float
    precision: Precision
    source: str
    citycode: str | None = None
    postcode: str | None = None
    notes: tuple[str, ...] = field(default=())


class Geocoder(Protocol):
    """Anything that turns an address into a point, or says why it cannot."""

    def geocode(self, query: AddressQuery) -> GeocodeResult:
        """Locate `query`; raise a GeocodeError subclass when it cannot be placed."""
        ...


class GeocodeError(Exception):
    """Base of every error raised by `geocode`."""


class PlaceNotFound(GeocodeError):
    """No place matches the query."""


class AmbiguousPlace(GeocodeError):
    """Several places match and nothing in the query decides between them."""


class GeocoderUnavailable(GeocodeError):
    """The service could not be reached or kept failing (timeouts, 5xx)."""


class GeocoderRateLimited(GeocoderUnavailable):
    """The service answered 429 more often than we were willing to wait for."""


class GeocoderBadResponse(GeocodeError):
    """The service answered something that is not a valid geocoding answer."""


class GeocoderConfigError(GeocodeError):
    """The geocoder's configuration is unusable (bad URL, forbidden address)."""
