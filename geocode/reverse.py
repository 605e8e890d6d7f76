"""Offline reverse geocoding: the commune, département and région a point lies in.

The polygons are `communes_polygons.bin.xz`, shipped in geocode/data/ and rebuilt by
`data/scripts/build_gazetteer.py`:
an xz stream holding a small JSON header (INSEE codes, array lengths) and the
multipolygons as a ragged array of int32 coordinate deltas on a 1e-4 degree grid.
"""

from __future__ import annotations

import json
import lzma
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from geocode.gazetteer import Gazetteer, default_gazetteer
from geocode.resources import shipped_file

POLYGONS_FILE = "communes_polygons.bin.xz"
MAGIC = b"ESSPOLY1"
SCALE = 10_000
# Shipped coastlines are generalised: a quay or a beach may fall just outside them.
COAST_TOLERANCE_DEGREES = 0.003
_ARRAY_NAMES = ("x", "y", "rings", "polygons", "parts")
_INT32 = np.dtype("<i4")


@dataclass(frozen=True)
class Location:
    """Where a point is: its commune (or Paris/Lyon/Marseille arrondissement) and above."""

    citycode: str
    name: str
    departement: str
    region: str


class ReverseIndex:
    """Point-in-polygon lookup over every commune, through a shapely STRtree."""

    def __init__(self, locations: Sequence[Location], polygons: NDArray[np.object_]) -> None:
        if len(locations) != len(polygons):
            raise ValueError(f"{len(locations)} locations for {len(polygons)} polygons")
        self._locations = tuple(locations)
        self._tree = shapely.STRtree(polygons)

    @classmethod
    def load(cls, path: Path | None = None, gazetteer: Gazetteer | None = None) -> ReverseIndex:
        """Read the polygons from a data directory or file (default: the shipped ones)."""
        source = path or shipped_file(POLYGONS_FILE)
        if source.is_dir():
            source = source / POLYGONS_FILE
        if gazetteer is None:
            gazetteer = default_gazetteer() if path is None else Gazetteer.load(source.parent)
        codes, polygons = decode_polygons(source.read_bytes())
        return cls([_location(gazetteer, code) for code in codes], polygons)

    def __len__(self) -> int:
        """Number of polygons (communes and arrondissements)."""
        return len(self._locations)

    def bounds(self) -> list[tuple[str, tuple[float, float, float, float]]]:
        """(INSEE code, (min lon, min lat, max lon, max lat)) of every polygon."""
        boxes: list[list[float]] = shapely.bounds(self._tree.geometries).tolist()
        return [
            (location.citycode, (box[0], box[1], box[2], box[3]))
            for location, box in zip(self._locations, boxes, strict=True)
        ]

    def locate(self, lat: float, lon: float) -> Location | None:
        """The commune containing (lat, lon), or None outside France (or for a non-number)."""
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            return None
        point = shapely.Point(lon, lat)
        hits: NDArray[np.intp] = self._tree.query(point, predicate="intersects")
        if hits.size == 0:
            hits = self._tree.query_nearest(point, max_distance=COAST_TOLERANCE_DEGREES)
        return self._locations[int(hits.min())] if hits.size else None

    def departement_of(self, lat: float, lon: float) -> str | None:
        """The INSEE code of the département containing (lat, lon), or None."""
        location = self.locate(lat, lon)
        return location.departement if location else None


def _location(gazetteer: Gazetteer, code: str) -> Location:
    commune = gazetteer.by_code(code)
    if commune is None:
        raise ValueError(f"the polygons name commune {code!r}, unknown to the gazetteer")
    return Location(commune.code, commune.name, commune.departement, commune.region)


def encode_polygons(codes: Sequence[str], polygons: Sequence[Any]) -> bytes:
    """Pack (multi)polygons, one per INSEE code, into the shipped compressed format."""
    multipolygons = [shapely.MultiPolygon([p]) if p.geom_type == "Polygon" else p
                     for p in polygons]
    _, coords, offsets = shapely.to_ragged_array(multipolygons)
    grid = np.round(coords * SCALE).astype(_INT32)
    deltas = np.diff(grid, axis=0, prepend=np.zeros((1, 2), dtype=_INT32))
    arrays = dict(zip(_ARRAY_NAMES, (deltas[:, 0], deltas[:, 1], *offsets), strict=True))
    header = json.dumps({"scale": SCALE, "codes": list(codes),
                         "lengths": [len(array) for array in arrays.values()]}).encode()
    header += b" " * (-(len(MAGIC) + 4 + len(header)) % 4)
    body = b"".join(np.ascontiguousarray(array, dtype=_INT32).tobytes()
                    for array in arrays.values())
    packed = MAGIC + struct.pack("<I", len(header)) + header + body
    return lzma.compress(packed, preset=9 | lzma.PRESET_EXTREME)


def decode_polygons(blob: bytes) -> tuple[list[str], NDArray[np.object_]]:
    """Unpack what `encode_polygons` wrote: the INSEE codes and their multipolygons."""
    raw = lzma.decompress(blob)
    if not raw.startswith(MAGIC):
        raise ValueError("not an ess-atlas polygons file")
    (header_length,) = struct.unpack_from("<I", raw, len(MAGIC))
    body_start = len(MAGIC) + 4 + header_length
    header = json.loads(raw[len(MAGIC) + 4:body_start])
    x, y, rings, polygons, parts = _read_int32_arrays(raw, body_start, header["lengths"])
    coords = np.column_stack((np.cumsum(x, dtype=np.int64), np.cumsum(y, dtype=np.int64)))
    geometries: NDArray[np.object_] = shapely.from_ragged_array(
        shapely.GeometryType.MULTIPOLYGON, coords / header["scale"], (rings, polygons, parts)
    )
    return list(header["codes"]), geometries


def _read_int32_arrays(raw: bytes, offset: int, lengths: list[int]) -> list[NDArray[np.int32]]:
    arrays = []
    for length in lengths:
        arrays.append(np.frombuffer(raw, dtype=_INT32, count=length, offset=offset))
        offset += length * _INT32.itemsize
    return arrays


@cache
def default_reverse_index() -> ReverseIndex:
    """The reverse index over the shipped commune polygons, loaded once."""
    return ReverseIndex.load()
