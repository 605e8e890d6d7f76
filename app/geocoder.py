"""The geocoder the settings describe, for the importer and `ess-atlas geocode`.

The chain is cache → BAN/addok (when `ESS_GEOCODER_URL` is set) → offline gazetteer; the
place search borrows its BAN/addok client, made to fail fast.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.config import DEFAULT_VAR_DIR, Settings
from geocode.ban import BanGeocoder, BanOptions
from geocode.cache import GeocodeCache
from geocode.chain import GeocoderChain
from geocode.gazetteer import Gazetteer, default_gazetteer
from geocode.reverse import default_reverse_index

DEFAULT_CACHE_PATH = DEFAULT_VAR_DIR / "geocode-cache.sqlite3"
# The search box waits for nobody: one quick attempt, then the offline answers alone.
INTERACTIVE_ATTEMPTS = 1
INTERACTIVE_CONNECT_TIMEOUT = 2.0
INTERACTIVE_READ_TIMEOUT = 5.0


def geocoder_cache_path(settings: Settings) -> Path:
    """Where the geocoding cache lives: `ESS_GEOCODER_CACHE_PATH`, or var/geocode-cache.sqlite3."""
    return settings.geocoder_cache_path or DEFAULT_CACHE_PATH


def ban_geocoder(settings: Settings, *, interactive: bool = False) -> BanGeocoder | None:
    """A BAN/addok client for `ESS_GEOCODER_URL` (None when unset); `interactive` fails fast."""
    if not settings.geocoder_url:
        return None
    options = BanOptions(requests_per_second=settings.geocoder_rate_limit)
    if interactive:
        options = replace(
            options,
            max_attempts=INTERACTIVE_ATTEMPTS,
            connect_timeout=INTERACTIVE_CONNECT_TIMEOUT,
            read_timeout=INTERACTIVE_READ_TIMEOUT,
        )
    return BanGeocoder(settings.geocoder_url, options)


def open_cache(settings: Settings) -> GeocodeCache:
    """Open (creating its folder) the persistent cache of BAN/addok answers."""
    path = geocoder_cache_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    return GeocodeCache(path)


def build_geocoder(settings: Settings) -> GeocoderChain:
    """Cache → BAN/addok → gazetteer; without a geocoder URL, the gazetteer alone (no cache)."""
    precise = ban_geocoder(settings)
    if precise is None:
        return GeocoderChain(None, None, default_gazetteer())
    return GeocoderChain(
        open_cache(settings), precise, default_gazetteer(), default_reverse_index()
    )


def close_geocoder(chain: GeocoderChain) -> None:
    """Close the cache and the HTTP connections of a chain from `build_geocoder`."""
    if chain.cache is not None:
        chain.cache.close()
    if isinstance(chain.precise, BanGeocoder):
        chain.precise.close()


def commune_level_only(geocoder: object) -> bool:
    """True when `geocoder` answers at commune level only, so the street never matters."""
    if isinstance(geocoder, GeocoderChain):
        return geocoder.precise is None
    return isinstance(geocoder, Gazetteer)
