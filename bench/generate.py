"""Deterministic synthetic directory of N ESS structures spread like the French population.

Each structure sits in a commune (or a Paris/Lyon/Marseille arrondissement) drawn with a
probability proportional to its population (the `population` column of the gazetteer,
data/communes.csv.gz), at a point drawn uniformly inside that commune's polygon
(data/communes_polygons.bin.xz) and checked against the same reverse lookup the importer
uses, so every row passes the "coordinates in the département of the commune" rule. Names,
legal forms (app.taxonomy.LegalForm), statuses, 1-3 sectors (data/categories.yaml, the
public-partner group excepted), descriptions, streets, SIREN/SIRET with valid checksums,
websites, emails and phones are drawn from French ESS-like vocabularies.

Rows are produced in chunks (each chunk has its own seeded generator), so memory is bounded
by the chunk size and the same (N, seed, GENERATOR_VERSION) always gives the same bytes.
Outputs, written chunk by chunk:

- `organisations.csv`: the columns of data/organisations.csv, lat/lon filled;
- `organisations-no-coordinates.csv` (optional): the same rows without lat/lon, for the
  commune-geocoding import;
- `organisations.gpkg` (optional): the same rows as points (EPSG:4326), layer
  `organisations`, written by pyogrio, for pygeoapi. Its fid is the row number (1..N),
  the id ess-atlas gives the same row when the CSV is imported into an empty database;
  its `sector` column holds the first sector (pygeoapi filters properties by equality).

    python bench/generate.py 100000 --out var/bench/data/demo [--no-gpkg] [--no-bare-csv]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import itertools
import random
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.resources import shipped_file as app_data_file  # noqa: E402
from app.taxonomy import LegalForm, load_taxonomy  # noqa: E402
from geocode.base import GeocodeError  # noqa: E402
from geocode.gazetteer import Commune, default_gazetteer  # noqa: E402
from geocode.resources import shipped_file as geocode_data_file  # noqa: E402
from geocode.reverse import POLYGONS_FILE, decode_polygons  # noqa: E402

# 2: names drawn from a wider space (v1 queued 3.4 % of a million rows as duplicates).
GENERATOR_VERSION = 2
DEFAULT_SEED = 20261201
CHUNK_ROWS = 50_000
CACHE_DIR = REPO / "var" / "bench" / "data"
CSV_NAME = "organisations.csv"
BARE_CSV_NAME = "organisations-no-coordinates.csv"
GPKG_NAME = "organisations.gpkg"
LAYER = "organisations"
COMPLETE_MARKER = "complete"
SOURCE = "bench-synthetique"
COLUMNS = ("source_id", "name", "description", "categories", "legal_form", "legal_status",
           "siren", "siret", "street", "postcode", "city", "country", "lat", "lon", "website",
           "email", "phone", "source")
EXCLUDED_SECTOR_GROUPS = frozenset({"partenaires"})
MAX_POINT_TRIES = 60

# (legal form, share of structures, statuses as written in exports, name prefixes)
FORMS: tuple[tuple[LegalForm, float, tuple[str, ...], tuple[str, ...]], ...] = (
    (LegalForm.ASSOCIATION, 0.78,
     ("association loi 1901", "association loi 1901 reconnue d'utilité publique",
      "association loi 1901 agréée jeunesse et éducation populaire"),
     ("Association", "Ressourcerie", "Recyclerie", "Repair café", "Épicerie solidaire",
      "Jardin partagé", "Maison de quartier", "Centre social", "Foyer rural", "MJC", "AMAP",
      "Atelier vélo", "Tiers-lieu", "Café associatif", "Chantier d'insertion", "Emmaüs",
      "Secours populaire –", "Restos du cœur –", "Banque alimentaire", "Compagnie",
      "Chorale", "Université populaire", "Amicale laïque", "Collectif", "Collectif citoyen",
      "Comité des fêtes", "Espace de vie sociale", "Fab lab", "Point numérique",
      "Accorderie")),
    (LegalForm.COOPERATIVE, 0.08,
     ("SCOP SA", "SCOP SARL", "SCIC SAS", "SCIC SA", "coopérative d'activité et d'emploi",
      "CUMA", "coopérative de consommateurs"),
     ("SCOP", "SCIC", "CAE", "Coopérative", "CUMA", "Biocoop", "Atelier coopératif",
      "Imprimerie coopérative", "Boulangerie coopérative", "Coopérative d'habitants")),
    (LegalForm.MUTUELLE, 0.02,
     ("mutuelle (code de la mutualité)", "mutuelle d'assurance"),
     ("Mutuelle", "Mutuelle solidaire", "Mutuelle familiale", "Mutuelle des territoires")),
    (LegalForm.FONDATION, 0.02,
     ("fondation reconnue d'utilité publique", "fonds de dotation", "fondation abritée"),
     ("Fondation", "Fonds de dotation", "Fondation solidaire")),
    (LegalForm.ENTREPRISE_ESS, 0.10,
     ("SAS agréée ESUS", "SARL agréée ESUS", "entreprise d'insertion (SAS)",
      "entreprise adaptée (SARL)"),
     ("Entreprise d'insertion", "Entreprise adaptée", "Régie de quartier", "ESAT",
      "Conciergerie solidaire", "Atelier", "Garage solidaire", "Laverie solidaire")),
)
PLACES = ("du Moulin", "des Tilleuls", "de la Gare", "du Canal", "des Lilas", "du Vieux Bourg",
          "de la Source", "des Cerisiers", "du Marché", "de la Fontaine", "des Remparts",
          "du Port", "de la Colline", "des Quatre Vents", "du Lavoir", "de l'Étang", "des Prés",
          "du Château d'eau", "de la Forge", "des Vignes", "du Faubourg", "de la Halle",
          "des Saules", "du Pont-Neuf", "de la Plaine", "des Mûriers", "du Belvédère",
          "de la Grange", "des Coquelicots", "du Verger", "de la Tannerie", "des Marronniers",
          "du Carreau", "de la Filature", "des Ateliers", "du Bocage", "de la Butte",
          "des Glycines", "du Clos", "de la Briqueterie")
PERSONS = ("Louise Michel", "Jean Jaurès", "Simone Veil", "Victor Hugo", "Olympe de Gouges",
           "Marie Curie", "Aimé Césaire", "George Sand", "Lucie Aubrac", "Jean Moulin",
           "Gisèle Halimi", "Abbé Pierre", "Germaine Tillion", "Pablo Neruda", "Rosa Parks",
           "Nelson Mandela", "Joséphine Baker", "Paul Éluard", "Jacques Prévert",
           "Colette", "Frida Kahlo", "Albert Camus", "Marcel Pagnol", "Berty Albrecht",
           "Danielle Casanova", "Missak Manouchian", "Charles Gide", "Robert Owen",
           "Jean-Baptiste Godin", "Flora Tristan", "Élisée Reclus", "Louis Pasteur",
           "Maria Montessori", "Célestin Freinet", "Coluche", "Geneviève de Gaulle",
           "Madeleine Brès", "Angela Davis", "Toussaint Louverture", "Solitude")
BRANDS = ("Le Grain de Sel", "La Clé des Champs", "Le Petit Colibri", "L'Arbre à Palabres",
          "La Fourmilière", "Le Chaudron", "La Ruche", "Les Petites Mains", "Le Fil Rouge",
          "La Pioche", "Le Bon Coin de Rue", "La Courte Échelle", "Le Maillon", "La Bricole",
          "Les Trois Pommes", "Le Zeste", "La Passerelle", "Le Relais", "La Boussole",
          "Le Tremplin", "La Marmite", "L'Escale", "Le Sillon", "La Navette", "Les Canailles",
          "La Traverse", "Le Potager", "L'Étincelle", "Le Cairn", "La Fabrique", "Le Rebond",
          "La Main Verte", "Les Lucioles", "Le Phare", "La Cabane", "L'Envol", "Le Trèfle",
          "La Belle Bricole", "Les Communs", "Le Pas de Côté")
QUARTERS = ("Centre", "Nord", "Sud", "Est", "Ouest", "Gare", "Centre-ville", "Vieille ville",
            "Bourg", "Rive gauche", "Rive droite", "Les Hauts", "Le Bas", "Zone artisanale",
            "Quartier prioritaire", "Cité", "Faubourg", "Val", "Plateau", "Bord de mer")
STREET_TYPES = ("rue", "avenue", "boulevard", "place", "impasse", "chemin", "allée", "quai",
                "route", "cours")
STREET_NAMES = (*PERSONS, "de la République", "de la Liberté", "de la Paix", "des Écoles",
                "de l'Église", "du Général Leclerc", "du 8 Mai 1945", "Pasteur", "de la Mairie",
                "des Jardins", "du Stade", "Nationale", "de Verdun", "Gambetta", "Carnot")
# Phrases a directory writes about each sector; unknown slugs fall back to their label.
SECTOR_PHRASES = {
    "civic-tech": "outils numériques de participation citoyenne",
    "mediation-numerique": "ateliers d'initiation au numérique et aide aux démarches en ligne",
    "financement-engagement": "mobilisation de bénévoles et collecte de dons",
    "communs-numeriques": "logiciels libres et données ouvertes pour les associations",
    "formation-numerique": "formation aux métiers du numérique pour les demandeurs d'emploi",
    "reemploi": "collecte, réparation et revente d'objets et de matériel informatique",
    "insertion-emploi": "parcours d'insertion par l'activité économique",
    "alimentation": "épicerie solidaire, paniers de légumes locaux et cuisine partagée",
    "habitat": "accompagnement au logement et habitat participatif",
    "sante-action-sociale": "accueil de jour, aide à domicile et accès aux soins",
    "culture-education-populaire": "spectacles, ateliers d'éducation populaire et lecture",
    "environnement": "sensibilisation à l'environnement et jardins pédagogiques",
    "finance-solidaire": "microcrédit et épargne solidaire",
    "cooperatives-activite": "accompagnement d'entrepreneurs salariés",
    "accompagnement-reseaux": "accompagnement des porteurs de projets de l'ESS",
    "industrie-artisanat": "fabrication, bâtiment et artisanat en coopérative",
    "services-conseil": "conseil, communication et services aux entreprises",
}
# Relative frequency of each sector among structures (unknown slugs weigh 1).
SECTOR_WEIGHTS = {
    "culture-education-populaire": 9, "sante-action-sociale": 8, "insertion-emploi": 5,
    "alimentation": 4, "environnement": 4, "habitat": 3, "reemploi": 3,
    "accompagnement-reseaux": 2, "services-conseil": 2, "mediation-numerique": 2,
    "financement-engagement": 1, "industrie-artisanat": 1, "finance-solidaire": 1,
    "cooperatives-activite": 1, "civic-tech": 1, "communs-numeriques": 1,
    "formation-numerique": 1,
}
AREA_CODES = {"11": "01", "24": "02", "27": "03", "28": "02", "32": "03", "44": "03",
              "52": "02", "53": "02", "75": "05", "76": "05", "84": "04", "93": "04",
              "94": "04"}


@dataclass(frozen=True)
class Places:
    """The communes structures are drawn from, with their polygons and cumulative weights."""

    communes: tuple[Commune, ...]
    cities: tuple[str, ...]
    postcodes: tuple[tuple[str, ...], ...]
    polygons: NDArray[np.object_]
    polygon_index: NDArray[np.int64]
    bounds: NDArray[np.float64]
    cumulative: NDArray[np.float64]
    tree: shapely.STRtree
    dropped: int


@dataclass(frozen=True)
class Dataset:
    """The files of one generated directory."""

    rows: int
    folder: Path
    csv: Path
    bare_csv: Path | None
    gpkg: Path | None


def luhn_complete(digits: str) -> str:
    """Append the check digit that makes `digits` pass the Luhn test."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


def _city_and_postcodes(commune: Commune, gazetteer: object) -> tuple[str, tuple[str, ...]]:
    """How a row names this commune: a city name and the postcodes that resolve to it."""
    city = commune.name.split(" ")[0] if commune.kind == "ARM" else commune.name
    good = []
    for postcode in commune.postcodes:
        try:
            found = gazetteer.find(postcode, city)  # type: ignore[attr-defined]
        except GeocodeError:
            continue
        if found.code == commune.code:
            good.append(postcode)
    return city, tuple(good)


def load_places() -> Places:
    """Communes with a polygon, a population and a postcode that names them unambiguously."""
    gazetteer = default_gazetteer()
    codes, polygons = decode_polygons(geocode_data_file(POLYGONS_FILE).read_bytes())
    position = {code: index for index, code in enumerate(codes)}
    kept, cities, postcodes, indexes, dropped = [], [], [], [], 0
    for commune in gazetteer:
        city, good = _city_and_postcodes(commune, gazetteer)
        if commune.code not in position or commune.population <= 0 or not good:
            dropped += commune.code in position
            continue
        kept.append(commune)
        cities.append(city)
        postcodes.append(good)
        indexes.append(position[commune.code])
    shapely.prepare(polygons)
    polygon_index = np.array(indexes, dtype=np.int64)
    weights = np.array([c.population for c in kept], dtype=np.float64)
    return Places(tuple(kept), tuple(cities), tuple(postcodes), polygons, polygon_index,
                  shapely.bounds(polygons[polygon_index]), np.cumsum(weights) / weights.sum(),
                  shapely.STRtree(polygons), dropped)


def _located_as_drawn(places: Places, x: NDArray[np.float64], y: NDArray[np.float64],
                      polygon: NDArray[np.int64]) -> NDArray[np.bool_]:
    """True where the lowest-numbered polygon containing the point is the drawn one.

    That is the importer's reverse lookup (ReverseIndex.locate keeps the lowest index),
    so a point inside two overlapping generalised polygons is not attributed elsewhere.
    """
    points = shapely.points(x, y)
    hits = places.tree.query(points, predicate="intersects")
    lowest = np.full(len(x), np.iinfo(np.int64).max)
    np.minimum.at(lowest, hits[0], hits[1])
    return lowest == polygon


def _points_in_communes(places: Places, chosen: NDArray[np.int64],
                        rng: np.random.Generator) -> tuple[NDArray[np.float64], ...]:
    """(lon, lat) drawn uniformly in each chosen commune's polygon, rounded to 1e-6°."""
    box = places.bounds[chosen]
    lon, lat = np.empty(len(chosen)), np.empty(len(chosen))
    todo = np.arange(len(chosen))
    for _ in range(MAX_POINT_TRIES):
        x = np.round(box[todo, 0] + rng.random(len(todo)) * (box[todo, 2] - box[todo, 0]), 6)
        y = np.round(box[todo, 1] + rng.random(len(todo)) * (box[todo, 3] - box[todo, 1]), 6)
        ok = _located_as_drawn(places, x, y, places.polygon_index[chosen[todo]])
        lon[todo[ok]], lat[todo[ok]] = x[ok], y[ok]
        todo = todo[~ok]
        if todo.size == 0:
            return lon, lat
    surface = shapely.point_on_surface(places.polygons[places.polygon_index[chosen[todo]]])
    lon[todo], lat[todo] = np.round(shapely.get_x(surface), 6), np.round(shapely.get_y(surface), 6)
    return lon, lat


def _sectors() -> tuple[list[str], list[float], dict[str, str]]:
    """Sector slugs, their cumulative drawing weights and their French labels."""
    taxonomy = load_taxonomy(app_data_file("categories.yaml"))
    usable = [c for c in taxonomy.categories if c.parent not in EXCLUDED_SECTOR_GROUPS]
    weights = itertools.accumulate(SECTOR_WEIGHTS.get(c.slug, 1) for c in usable)
    return [c.slug for c in usable], list(map(float, weights)), {c.slug: c.label_fr
                                                                  for c in usable}


class RowMaker:
    """Turns a row number, a commune and a point into one CSV row, from a seeded generator."""

    def __init__(self, places: Places, rng: random.Random) -> None:
        self.places, self.rng = places, rng
        self.slugs, self.sector_weights, self.labels = _sectors()
        self.form_weights = list(itertools.accumulate(share for _, share, _, _ in FORMS))

    def pick(self, options: tuple[str, ...]) -> str:
        """One of the options, uniformly."""
        return self.rng.choice(options)

    def name(self, prefixes: tuple[str, ...]) -> str:
        """A name like "Ressourcerie La Clé des Champs – Gare" or "Compagnie Vézelay".

        Four names in ten borrow another commune's name (a lieu-dit, a river, a hill),
        so that big cities do not fill up with near-identical names.
        """
        prefix = self.pick(prefixes)
        draw = self.rng.random()
        if draw < 0.4:
            core = f"{prefix} {self.rng.choice(self.places.cities)}"
        elif draw < 0.6:
            core = f"{prefix} {self.pick(PLACES)}"
        elif draw < 0.8:
            core = f"{prefix} {self.pick(PERSONS)}"
        else:
            core = f"{prefix} {self.pick(BRANDS)}"
        return f"{core} – {self.pick(QUARTERS)}" if self.rng.random() < 0.6 else core

    def sectors(self) -> list[str]:
        """1 to 3 distinct sectors (60 %, 30 %, 10 %), weighted by how common each is."""
        draw = self.rng.random()
        count = 1 if draw < 0.6 else 2 if draw < 0.9 else 3
        chosen: list[str] = []
        while len(chosen) < count:
            slug = self.rng.choices(self.slugs, cum_weights=self.sector_weights)[0]
            if slug not in chosen:
                chosen.append(slug)
        return chosen

    def description(self, sectors: list[str], form_status: str, city: str) -> str:
        """One or two sentences naming the activities and the place."""
        activities = [SECTOR_PHRASES.get(s, self.labels[s].lower()) for s in sectors]
        text = f"{form_status[0].upper()}{form_status[1:]} : {' ; '.join(activities)}, à {city}."
        if self.rng.random() < 0.5:
            text += f" Ouvert au public, accueil sur rendez-vous ({self.pick(QUARTERS).lower()})."
        return text

    def identifiers(self, number: int) -> tuple[str, str]:
        """(SIREN, SIRET) with valid checksums for about a third of rows, else empty."""
        if self.rng.random() >= 0.3:
            return "", ""
        # An affine bijection of 0..10^8-1: distinct rows get distinct SIRENs.
        prefix = f"{(number * 7_368_787 + 12_345_678) % 100_000_000:08d}"
        siren = luhn_complete(prefix)
        if siren == "356000000":  # La Poste follows its own rule
            return "", ""
        return siren, luhn_complete(f"{siren}{self.rng.randrange(10_000):04d}")

    def contact(self, name: str, number: int, region: str) -> tuple[str, str, str]:
        """Website, email and phone, each present for some rows only."""
        slug = "-".join("".join(c for c in word.lower() if c.isascii() and c.isalnum())
                        for word in name.split()[:3]).strip("-") or "structure"
        host = f"{slug}-{number}.example.org"
        website = f"https://{host}" if self.rng.random() < 0.6 else ""
        email = f"contact@{host}" if self.rng.random() < 0.4 else ""
        digits = " ".join(f"{self.rng.randrange(100):02d}" for _ in range(4))
        phone = f"{AREA_CODES.get(region, '09')} {digits}" if self.rng.random() < 0.5 else ""
        return website, email, phone

    def row(self, number: int, commune_index: int, lat: float, lon: float) -> list[str]:
        """One row in COLUMNS order."""
        commune = self.places.communes[commune_index]
        city = self.places.cities[commune_index]
        form, _, statuses, prefixes = self.rng.choices(FORMS, cum_weights=self.form_weights)[0]
        status, name = self.pick(statuses), self.name(prefixes)
        sectors = self.sectors()
        siren, siret = self.identifiers(number)
        website, email, phone = self.contact(name, number, commune.region)
        street = (f"{self.rng.randint(1, 180)} {self.pick(STREET_TYPES)} "
                  f"{self.pick(STREET_NAMES)}")
        return [str(number), name, self.description(sectors, status, city), "|".join(sectors),
                form.value, status, siren, siret, street,
                self.pick(self.places.postcodes[commune_index]), city, "FR", f"{lat:.6f}",
                f"{lon:.6f}", website, email, phone, SOURCE]


def chunks(places: Places, rows: int, seed: int) -> Iterator[list[list[str]]]:
    """The rows 1..rows in chunks of CHUNK_ROWS, each chunk from its own seeded generator."""
    for start in range(0, rows, CHUNK_ROWS):
        rng = np.random.default_rng([seed, GENERATOR_VERSION, start])
        size = min(CHUNK_ROWS, rows - start)
        chosen = np.searchsorted(places.cumulative, rng.random(size), side="right")
        chosen = np.minimum(chosen, len(places.communes) - 1)
        lon, lat = _points_in_communes(places, chosen, rng)
        maker = RowMaker(places, random.Random(f"{seed}:{GENERATOR_VERSION}:{start}"))
        yield [maker.row(start + offset + 1, int(chosen[offset]), float(lat[offset]),
                         float(lon[offset])) for offset in range(size)]


class GpkgWriter:
    """Appends chunks of rows to a GeoPackage point layer through pyogrio."""

    def __init__(self, path: Path) -> None:
        self.path, self.started = path, False

    def write(self, rows: list[list[str]]) -> None:
        """Append one chunk; the first creates the layer (and its R-tree index)."""
        import geopandas
        import pandas
        from pyogrio import write_dataframe

        frame = pandas.DataFrame(rows, columns=list(COLUMNS))
        frame.insert(4, "sector", frame["categories"].str.split("|").str[0])
        points = geopandas.points_from_xy(frame.pop("lon").astype(float),
                                          frame.pop("lat").astype(float))
        layer = geopandas.GeoDataFrame(frame, geometry=points, crs="EPSG:4326")
        # GeoPackage 1.3: what the Debian GDAL that pygeoapi runs on reads without a warning.
        write_dataframe(layer, self.path, layer=LAYER, driver="GPKG", append=self.started,
                        dataset_options={"VERSION": "1.3"})
        self.started = True


class CsvWriter:
    """Writes chunks of rows to a CSV file, with or without the lat/lon values."""

    def __init__(self, path: Path, stack: contextlib.ExitStack, *, coordinates: bool) -> None:
        handle = stack.enter_context(path.open("w", encoding="utf-8", newline=""))
        self.writer = csv.writer(handle)
        self.writer.writerow(COLUMNS)
        self.blanked = () if coordinates else (COLUMNS.index("lat"), COLUMNS.index("lon"))

    def write(self, rows: list[list[str]]) -> None:
        """Append one chunk."""
        if self.blanked:
            rows = [["" if i in self.blanked else v for i, v in enumerate(row)] for row in rows]
        self.writer.writerows(rows)


def write_dataset(folder: Path, rows: int, *, seed: int = DEFAULT_SEED, bare_csv: bool = True,
                  gpkg: bool = True, places: Places | None = None) -> Dataset:
    """Generate `rows` structures into `folder` (replaced), chunk by chunk."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    places = places or load_places()
    dataset = Dataset(rows, folder, folder / CSV_NAME, folder / BARE_CSV_NAME if bare_csv
                      else None, folder / GPKG_NAME if gpkg else None)
    with contextlib.ExitStack() as stack:
        writers: list[CsvWriter | GpkgWriter] = [CsvWriter(dataset.csv, stack, coordinates=True)]
        if dataset.bare_csv:
            writers.append(CsvWriter(dataset.bare_csv, stack, coordinates=False))
        if dataset.gpkg:
            writers.append(GpkgWriter(dataset.gpkg))
        for chunk in chunks(places, rows, seed):
            for writer in writers:
                writer.write(chunk)
    (folder / COMPLETE_MARKER).write_text(f"{rows} rows, seed {seed}, v{GENERATOR_VERSION}\n")
    return dataset


def cached_dataset(rows: int, seed: int = DEFAULT_SEED) -> Dataset:
    """The dataset for (rows, seed, generator version) under var/bench/data/, made if missing."""
    folder = CACHE_DIR / f"v{GENERATOR_VERSION}-seed{seed}-{rows}"
    dataset = Dataset(rows, folder, folder / CSV_NAME, folder / BARE_CSV_NAME, folder / GPKG_NAME)
    if not (folder / COMPLETE_MARKER).exists():
        started = time.perf_counter()
        print(f"generating {rows:,} structures into {folder} ...", flush=True)
        write_dataset(folder, rows, seed=seed)
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    return dataset


def check_columns() -> None:
    """Fail loudly if data/organisations.csv and COLUMNS have drifted apart."""
    with app_data_file("organisations.csv").open(encoding="utf-8", newline="") as handle:
        header = tuple(next(csv.reader(handle)))
    if header != COLUMNS:
        raise SystemExit(f"data/organisations.csv has columns {header}, the generator {COLUMNS}")


def main() -> None:
    """Write one dataset where asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("--out", type=Path, required=True, help="folder to (re)create")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--no-gpkg", action="store_true", help="CSV files only")
    parser.add_argument("--no-bare-csv", action="store_true", help="no CSV without lat/lon")
    args = parser.parse_args()
    check_columns()
    started = time.perf_counter()
    places = load_places()
    print(f"{len(places.communes):,} communes and arrondissements drawn from "
          f"({places.dropped} with a polygon left out: no population or no unambiguous "
          "postcode)")
    dataset = write_dataset(args.out, args.rows, seed=args.seed, bare_csv=not args.no_bare_csv,
                            gpkg=not args.no_gpkg, places=places)
    print(f"{args.rows:,} rows in {time.perf_counter() - started:.1f} s: {dataset.csv}"
          + (f", {dataset.bare_csv}" if dataset.bare_csv else "")
          + (f", {dataset.gpkg}" if dataset.gpkg else ""))


if __name__ == "__main__":
    main()
