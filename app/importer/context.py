"""Build the import context (taxonomy, geocoder, offline indexes) from the settings."""

from __future__ import annotations

from app.config import Settings
from app.importer.pipeline import ImportContext
from app.importer.place import ReverseLookup
from app.taxonomy import load_taxonomy
from geocode.base import Geocoder
from geocode.gazetteer import Gazetteer, default_gazetteer
from geocode.reverse import Location, ReverseIndex, default_reverse_index


def _geocoder(settings: Settings, gazetteer: Gazetteer, reverse: ReverseLookup) -> Geocoder:
    """The commune gazetteer, or the chain cache -> BAN/addok -> gazetteer when configured."""
    if not settings.geocoder_url:
        return gazetteer
    from geocode.ban import BanGeocoder, BanOptions
    from geocode.cache import GeocodeCache
    from geocode.chain import GeocoderChain

    cache = GeocodeCache(settings.geocoder_cache_path) if settings.geocoder_cache_path else None
    precise = BanGeocoder(settings.geocoder_url,
                          BanOptions(requests_per_second=settings.geocoder_rate_limit))
    return GeocoderChain(cache, precise, gazetteer, default_reverse_index())


class LazyReverseIndex:
    """The shipped reverse index, loaded on first use (rows without coordinates never need it)."""

    def __init__(self) -> None:
        self._index: ReverseIndex | None = None

    def locate(self, lat: float, lon: float) -> Location | None:
        """The commune containing (lat, lon), or None outside France."""
        if self._index is None:
            self._index = default_reverse_index()
        return self._index.locate(lat, lon)


def import_context(settings: Settings) -> ImportContext:
    """The context an import runs with under these settings."""
    gazetteer = default_gazetteer()
    reverse = LazyReverseIndex()
    return ImportContext(
        taxonomy=load_taxonomy(settings.categories_yaml),
        geocoder=_geocoder(settings, gazetteer, reverse),
        gazetteer=gazetteer,
        reverse=reverse,
        batch_size=settings.import_batch_size,
    )
