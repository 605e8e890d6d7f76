"""CORS for data clients: any origin may read the public data, without credentials.

uMap, Observable or kepler.gl load the GeoJSON from another origin: public GET and HEAD
answers say `Access-Control-Allow-Origin: *` and expose the headers a data client reads
(ETag, Last-Modified, Content-Range, Link…), and a preflight gets its 204. Admin routes
get no CORS header at all, so a page elsewhere cannot drive them from a maintainer's
browser. `*` never goes with credentials, so no cookie or token is sent cross-origin.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Paths whose answers are never shared with another origin.
ADMIN_PREFIXES = ("/api/imports",)
READ_METHODS = frozenset({"GET", "HEAD"})
ALLOWED_REQUEST_HEADERS = "Accept, Accept-Language, If-None-Match, If-Modified-Since, Range"
EXPOSED_HEADERS = ("ETag, Last-Modified, Content-Length, Content-Range, Content-Disposition, "
                   "Accept-Ranges, X-Request-ID")
PREFLIGHT_MAX_AGE = "86400"


def is_admin_path(path: str) -> bool:
    """True for the admin routes, which no other origin may read."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in ADMIN_PREFIXES)


def _preflight() -> Response:
    """The answer to a CORS preflight of a public read."""
    return Response(status_code=204, headers={
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": ALLOWED_REQUEST_HEADERS,
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
    })


class PublicCorsMiddleware:
    """Open the public reads to every origin; leave the admin routes closed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer preflights of public reads; add the CORS headers to their answers."""
        if scope["type"] != "http" or is_admin_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        asked = Headers(scope=scope).get("access-control-request-method", "")
        if scope["method"] == "OPTIONS" and asked.upper() in READ_METHODS:
            await _preflight()(scope, receive, send)
            return
        if scope["method"] not in READ_METHODS:
            await self.app(scope, receive, send)
            return

        async def send_shared(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers["Access-Control-Allow-Origin"] = "*"
                response_headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            await send(message)

        await self.app(scope, receive, send_shared)
