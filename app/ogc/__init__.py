"""OGC API – Features Part 1 (core, GeoJSON, HTML, OpenAPI 3.0) under /ogc."""
