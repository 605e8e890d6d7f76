"""Build the import context (taxonomy, geocoder, offline indexes) from the settings."""

from __future__ import annotations

from app.config import Settings
from app.geocoder import build_geocoder, close_geocoder
from app.importer.pipeline import ImportContext
from app.taxonomy import load_taxonomy
from geocode.chain import GeocoderChain
from geocode.gazetteer import default_gazetteer
from geocode.reverse import Location, ReverseIndex, default_reverse_index


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
    """The context an import runs with under these settings (close it with `close_context`)."""
    return ImportContext(
        taxonomy=load_taxonomy(settings.categories_yaml),
        geocoder=build_geocoder(settings),
        gazetteer=default_gazetteer(),
        reverse=LazyReverseIndex(),
        batch_size=settings.import_batch_size,
    )


def close_context(context: ImportContext) -> None:
    """Close what the context's geocoder holds open (cache file, HTTP connections)."""
    if isinstance(context.geocoder, GeocoderChain):
        close_geocoder(context.geocoder)
