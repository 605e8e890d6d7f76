"""The formats written front to back as bytes: GeoJSON, GeoJSONSeq (RFC 8142) and CSV."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

import orjson

from app.exports.columns import CSV_COLUMNS, csv_cells
from app.exports.rows import RowBatches
from app.geojson import feature_collection_chunks, feature_of_values
from app.safecsv import csv_line

# RFC 8142: each text starts with the record separator and ends with a line feed.
RECORD_SEPARATOR = b"\x1e"
BYTE_ORDER_MARK = "\ufeff"
CSV_DELIMITERS = (";", ",")


def geojson_chunks(batches: RowBatches) -> Iterator[bytes]:
    """One RFC 7946 FeatureCollection, the same features as the API's."""
    features = chain.from_iterable(map(feature_of_values, batch.rows()) for batch in batches)
    yield from feature_collection_chunks(features, {})


def geojsonseq_chunks(batches: RowBatches) -> Iterator[bytes]:
    """One feature per record: RS, the feature, LF."""
    for batch in batches:
        features = map(feature_of_values, batch.rows())
        yield b"".join(RECORD_SEPARATOR + orjson.dumps(feature) + b"\n" for feature in features)


def csv_chunks(batches: RowBatches, delimiter: str = ";") -> Iterator[bytes]:
    """UTF-8 with a byte order mark (Excel then reads accents right), a header, one row each."""
    yield (BYTE_ORDER_MARK + csv_line(CSV_COLUMNS, delimiter)).encode()
    for batch in batches:
        yield "".join(csv_line(csv_cells(row), delimiter) for row in batch.rows()).encode()
