"""The map page in headless Chromium over N synthetic structures, on localhost.

Fills a fresh SQLite file (as bench_api.py does; `ess-atlas serve` back-fills the
aggregates on start), serves it, and measures with Debian's Chromium:

- first dots: from navigation start to the first clusters drawn (the page's
  `atlas-first-dots` performance mark);
- a pan redrawn: from `panBy` to the view's clusters all drawn (`atlas-dots-drawn`);
- the page weight: bytes received for everything but tiles (compressed, headers included).

Each on a plain profile and on a throttled one (slow 4G: 150 ms, 1.6 Mbit/s down,
750 kbit/s up; CPU slowed 4× through the DevTools protocol). Tiles are answered by the
browser itself (a 1×1 PNG). Prints a table and appends it to bench/results.md.

    python bench/bench_map.py [--rows 1000000] [--pans 5] [--database PATH]

`--database PATH` serves a database already built (e.g. by bench/build_database.py from the
national benchmark's dataset) instead of filling a fresh one; it is left as it is.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness import (
    ATLAS_READY_PATH,
    ESS_ATLAS,
    append_section,
    ess_atlas_env,
    free_port,
    human_bytes,
    server,
)
from playwright.sync_api import Page, Request, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from bench_api import fill  # noqa: E402
from browser import launch_chromium, solid_png  # noqa: E402

SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8,
           "uploadThroughput": 750_000 / 8}
CPU_SLOWDOWN = 4
PANS = ((300, 0), (0, 250), (-300, 0), (0, -250), (400, 200))
TILE = solid_png(226, 232, 236)
DRAWN = ("(since) => performance.getEntriesByName('atlas-dots-drawn')"
         ".some((mark) => mark.startTime > since)")


@dataclass(frozen=True)
class Profile:
    """One way of loading the page: its name and whether it is throttled."""

    name: str
    throttled: bool


@dataclass(frozen=True)
class Measures:
    """What one profile measured."""

    first_dots_ms: float
    pan_ms: list[float]
    page_bytes: int


def throttle(page: Page) -> None:
    """Slow 4G and a 4× slower CPU for this page, through the DevTools protocol."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", SLOW_4G)
    session.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})


def pan_ms(page: Page, dx: int, dy: int) -> float:
    """Milliseconds from panBy to the new view's clusters all drawn."""
    started: float = page.evaluate(
        "([dx, dy]) => { const t = performance.now();"
        " window.atlas.map.panBy([dx, dy], {animate: false});"
        " return t; }", [dx, dy])
    page.wait_for_function(DRAWN, arg=started, timeout=120_000)
    drawn: float = page.evaluate(
        "(since) => performance.getEntriesByName('atlas-dots-drawn')"
        ".filter((mark) => mark.startTime > since)[0].startTime", started)
    return drawn - started


def measure(base_url: str, profile: Profile, pans: int, folder: Path) -> Measures:
    """Open the map once in a fresh browser profile and measure it."""
    with sync_playwright() as playwright:
        context = launch_chromium(playwright, folder / profile.name.replace(" ", "-"),
                                  viewport={"width": 1280, "height": 800}, locale="fr-FR")
        page = context.new_page()
        page.route("**/tiles/**", lambda route: route.fulfill(
            status=200, content_type="image/png", body=TILE))
        sizes: list[int] = []

        def count(request: Request) -> None:
            if "/tiles/" not in request.url:
                received = request.sizes()
                sizes.append(received["responseBodySize"] + received["responseHeadersSize"])

        page.on("requestfinished", count)
        if profile.throttled:
            throttle(page)
        page.goto(base_url + "/")
        page.wait_for_function("() => performance.getEntriesByName('atlas-first-dots').length > 0",
                               timeout=120_000)
        first: float = page.evaluate("performance.getEntriesByName('atlas-first-dots')[0]"
                                     ".startTime")
        page.wait_for_load_state("networkidle")
        page.remove_listener("requestfinished", count)  # the page's weight, pans aside
        weight = sum(sizes)
        pans_ms = [pan_ms(page, dx, dy) for dx, dy in PANS[:pans]]
        context.close()
    return Measures(first, pans_ms, weight)


def table(rows: int, results: dict[str, Measures]) -> list[str]:
    """The results as a markdown table."""
    lines = ["| profile | N | first dots ms | pan redrawn ms (median, max) | page weight "
             "(compressed, tiles aside) | target |", "|---|---:|---:|---|---:|---|"]
    for name, found in results.items():
        pans = (f"{statistics.median(found.pan_ms):,.0f}, {max(found.pan_ms):,.0f}"
                if found.pan_ms else "—")
        lines.append(f"| {name} | {rows:,} | {found.first_dots_ms:,.0f} | {pans} | "
                     f"{human_bytes(found.page_bytes)} | first < 1,500 ms, pan < 300 ms, "
                     "< 500 KB (at 1M, plain) |")
    return lines


def stored_rows(database: Path) -> int:
    """How many structures a database holds."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return int(connection.execute("SELECT count(*) FROM organisation").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pans", type=int, default=len(PANS))
    parser.add_argument("--database", type=Path,
                        help="serve this database (built beforehand) instead of filling one")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-map-") as temporary:
        folder = Path(temporary)
        database = arguments.database or folder / "atlas.sqlite3"
        if arguments.database is None:
            print(f"filling {arguments.rows:,} structures…", flush=True)
            fill(f"sqlite:///{database}", arguments.rows)
            subprocess.run([ESS_ATLAS, "aggregates", "rebuild"], env=ess_atlas_env(database),
                           check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        command = [ESS_ATLAS, "serve", "--port", str(port)]
        env = ess_atlas_env(database, ESS_TILES_URL=f"http://127.0.0.1:{port}/tiles/{{z}}/{{x}}/{{y}}.png")
        with server(command, port=port, ready_path=ATLAS_READY_PATH, env=env,
                    log=folder / "serve.log", timeout=1800) as running:
            profiles = (Profile("localhost", False), Profile("slow 4G, CPU 4×", True))
            results = {p.name: measure(running.base_url, p, arguments.pans, folder)
                       for p in profiles}
    lines = table(stored_rows(database) if arguments.database else arguments.rows, results)
    print("\n".join(lines))
    append_section("Map page in headless Chromium (bench_map.py)", [*lines, "",
                   "Timings from the page's performance marks; tiles answered by the browser; "
                   "`ess-atlas serve` with its default workers; the machine's other load not "
                   "controlled."])


if __name__ == "__main__":
    main()
