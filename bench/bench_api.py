"""API benchmark: the map's viewport query and nearby search over a large directory.

Fills a fresh SQLite file with N synthetic structures spread over the real communes
(population-weighted), starts the real app under uvicorn on a loopback port, and
measures latency of the requests the map page makes. Prints a table and appends its
rows to bench/results.md.

    python bench/bench_api.py [--rows 100000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import insert

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.config import Settings  # noqa: E402
from app.db import create_schema, make_engine  # noqa: E402
from app.main import create_app  # noqa: E402
from app.models import Organisation, OrganisationCategory  # noqa: E402
from geocode.gazetteer import COMMUNE, default_gazetteer  # noqa: E402

RESULTS = REPO / "bench" / "results.md"
SECTORS = [
    "alimentation",
    "habitat",
    "insertion-emploi",
    "reemploi",
    "environnement",
    "culture-education-populaire",
    "cooperatives-activite",
    "mediation-numerique",
]
ORGS = "/api/organisations"
QUERIES = {
    "viewport Paris (zoom 12), limit 5000": f"{ORGS}?bbox=2.25,48.81,2.42,48.90&limit=5000",
    "viewport France (zoom 6), limit 5000": f"{ORGS}?bbox=-5.5,41.2,9.8,51.2&limit=5000",
    "viewport Lyon + 1 sector": f"{ORGS}?bbox=4.77,45.70,4.92,45.80&category=habitat&limit=5000",
    "text search q=solidaire, limit 100": "/api/organisations?q=solidaire%2042&limit=100",
    "nearby 10 km Lyon, limit 100": "/api/nearby?lat=45.76&lon=4.84&radius_km=10&limit=100",
    "categories with counts": "/api/categories",
    "regions with counts": "/api/regions",
}


def synthetic_rows(count: int) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Structures placed near population-weighted communes, and their sector links."""
    rng = random.Random(7)
    communes = [c for c in default_gazetteer() if c.kind == COMMUNE]
    weights = [max(c.population, 1) for c in communes]
    now = datetime.now(UTC)
    rows, links = [], []
    for index, commune in enumerate(rng.choices(communes, weights, k=count), start=1):
        sector = rng.choice(SECTORS)
        rows.append(
            {
                "id": index,
                "key": f"bench:{index}",
                "name": f"Structure solidaire {index}",
                "categories": sector,
                "lat": commune.lat + rng.uniform(-0.01, 0.01),
                "lon": commune.lon + rng.uniform(-0.01, 0.01),
                "citycode": commune.code,
                "departement": commune.departement,
                "region": commune.region,
                "country": "FR",
                "city": commune.name,
                "search_text": f"structure solidaire {index} {commune.name}",
                "geocode_precision": "municipality",
                "geocode_source": "gazetteer",
                "content_hash": "",
                "created_at": now,
                "updated_at": now,
            }
        )
        links.append({"organisation_id": index, "category": sector})
    return rows, links


def fill(database_url: str, count: int) -> float:
    """Create the schema and insert the synthetic directory; return the seconds it took."""
    engine = make_engine(database_url)
    create_schema(engine)
    rows, links = synthetic_rows(count)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(Organisation), rows)
        connection.execute(insert(OrganisationCategory), links)
    engine.dispose()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(settings: Settings, port: int) -> uvicorn.Server:
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def measure(client: httpx.Client, path: str, repeat: int) -> tuple[float, float, int]:
    """Median and worst latency in ms, and the features of the last answer."""
    timings, features = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        body = response.json()
        features = (
            len(body["features"]) if isinstance(body, dict) and "features" in body else len(body)
        )
    return statistics.median(timings), max(timings), features


def record(rows: list[tuple[str, float, str]]) -> None:
    if not RESULTS.exists():
        RESULTS.write_text("| benchmark | value | unit | date |\n|---|---|---|---|\n")
    with RESULTS.open("a", encoding="utf-8") as out:
        for name, value, unit in rows:
            out.write(f"| {name} | {value:.1f} | {unit} | {date.today().isoformat()} |\n")


def print_and_record(rows: list[tuple[str, float, str]], *, no_record: bool) -> None:
    """Print one line per figure, then append them to results.md unless told not to."""
    for name, value, unit in rows:
        print(f"{name:70} {value:10.1f} {unit}")
    if not no_record:
        record(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        fill_seconds = fill(url, args.rows)
        settings = Settings(database_url=url, load_default_directory=False)
        port = free_port()
        server = serve(settings, port)
        results: list[tuple[str, float, str]] = []
        print(f"{args.rows} structures inserted in {fill_seconds:.1f} s")
        print(f"{'request':45} {'median ms':>10} {'max ms':>8} {'features':>9}")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for name, path in QUERIES.items():
                median, worst, features = measure(client, path, args.repeat)
                print(f"{name:45} {median:10.1f} {worst:8.1f} {features:9d}")
                results.append((f"API {name}, {args.rows} rows, median", median, "ms"))
        server.should_exit = True
    if not args.no_record:
        record(results)


if __name__ == "__main__":
    main()
