/*
 * The tile grid the map asks clusters by, and the cache of answers by tile.
 *
 * At map zoom z the view is cut into the 256-px tiles of zoom z. The server groups
 * clusters on a finer grid (level >= z) whose cells nest inside these tiles, so an
 * answer for a block of tiles can be kept tile by tile: a pan asks only the tiles it
 * has not seen, for the same filters and zoom.
 */

const MAX_LAT = 85.0511287798066;
// The server switches to a coarser grid past 1,024 cells (64 tiles of 16 cells).
const MAX_TILES_PER_REQUEST = 48;
const CACHED_TILES = 4096;

function clampIndex(value, z) {
  return Math.max(0, Math.min((1 << z) - 1, value));
}

function tileX(lon, z) {
  return clampIndex(Math.floor(((lon + 180) / 360) * (1 << z)), z);
}

function tileY(lat, z) {
  const phi = (Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI) / 180;
  const y = (1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2;
  return clampIndex(Math.floor(y * (1 << z)), z);
}

function lonOf(x, z) {
  return (x / (1 << z)) * 360 - 180;
}

function latOf(y, z) {
  const n = Math.PI * (1 - (2 * y) / (1 << z));
  return (Math.atan(Math.sinh(n)) * 180) / Math.PI;
}

/* The tiles of zoom z a view (west, south, east, north) touches. */
export function tilesOf(view, z) {
  return { z: z, x0: tileX(view.west, z), x1: tileX(view.east, z), y0: tileY(view.north, z), y1: tileY(view.south, z) };
}

export function eachTile(range, visit) {
  for (let y = range.y0; y <= range.y1; y += 1) {
    for (let x = range.x0; x <= range.x1; x += 1) visit(x, y);
  }
}

/* A block of tiles as the bbox parameter: minLon,minLat,maxLon,maxLat. */
export function bboxOf(block) {
  const west = lonOf(block.x0, block.z);
  const east = lonOf(block.x1 + 1, block.z);
  const north = Math.min(90, latOf(block.y0, block.z));
  const south = Math.max(-90, latOf(block.y1 + 1, block.z));
  return [west, south, east, north].map((value) => value.toFixed(6)).join(',');
}

/* Rows of missing tiles as runs, rows with equal runs merged: few requests per pan. */
export function blocksOf(missing, z) {
  const rows = new Map();
  for (const [x, y] of missing) {
    if (!rows.has(y)) rows.set(y, []);
    rows.get(y).push(x);
  }
  const open = new Map();
  const done = [];
  for (const y of Array.from(rows.keys()).sort((a, b) => a - b)) {
    const runs = runsOf(rows.get(y).sort((a, b) => a - b));
    const next = new Map();
    for (const [x0, x1] of runs) {
      const key = x0 + ':' + x1;
      const block = open.get(key);
      if (block && block.y1 === y - 1) {
        block.y1 = y;
        open.delete(key);
        next.set(key, block);
      } else {
        next.set(key, { z: z, x0: x0, x1: x1, y0: y, y1: y });
      }
    }
    open.forEach((block) => done.push(block));
    open.clear();
    next.forEach((block, key) => open.set(key, block));
  }
  open.forEach((block) => done.push(block));
  return done.flatMap(splitLarge);
}

function runsOf(xs) {
  const runs = [];
  for (const x of xs) {
    const last = runs[runs.length - 1];
    if (last && last[1] === x - 1) last[1] = x;
    else runs.push([x, x]);
  }
  return runs;
}

function splitLarge(block) {
  const width = block.x1 - block.x0 + 1;
  const rowsPerBlock = Math.max(1, Math.floor(MAX_TILES_PER_REQUEST / width));
  const parts = [];
  for (let y = block.y0; y <= block.y1; y += rowsPerBlock) {
    parts.push({ z: block.z, x0: block.x0, x1: block.x1, y0: y, y1: Math.min(block.y1, y + rowsPerBlock - 1) });
  }
  return parts;
}

/* Answers kept per (filters, zoom, tile); a cluster seen twice keeps its larger count. */
export class TileCache {
  constructor(limit) {
    this.limit = limit || CACHED_TILES;
    this.tiles = new Map();
  }

  key(filters, z, x, y) {
    return filters + '|' + z + '/' + x + '/' + y;
  }

  has(filters, z, x, y) {
    return this.tiles.has(this.key(filters, z, x, y));
  }

  features(filters, z, x, y) {
    const tile = this.tiles.get(this.key(filters, z, x, y));
    return tile ? Array.from(tile.values()) : [];
  }

  /* File an answer's features under their tiles; every tile of the block is now known. */
  store(filters, block, features) {
    if (this.tiles.size > this.limit) this.tiles.clear();
    eachTile(block, (x, y) => this.tiles.set(this.key(filters, block.z, x, y), new Map()));
    for (const feature of features) {
      const [lon, lat] = feature.geometry.coordinates;
      const tile = this.tiles.get(this.key(filters, block.z, tileX(lon, block.z), tileY(lat, block.z)));
      if (!tile) continue;
      const seen = tile.get(feature.id);
      if (!seen || seen.properties.count < feature.properties.count) tile.set(feature.id, feature);
    }
  }
}
