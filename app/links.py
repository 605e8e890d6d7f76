"""Links the API hands out: under ESS_PUBLIC_URL when set, else relative to the request.

Never built from the Host header, which any client can forge. Where a client needs
absolute links (OGC API clients such as GDAL resolve `/…` against their own root URL),
they are built on the address the connection reached: the server's socket, not a header.
"""

from __future__ import annotations

from starlette.requests import Request

from app.config import Settings


def public_href(settings: Settings, path: str, query: str = "") -> str:
    """The href of `path?query`: absolute under the public URL, else a relative reference."""
    return href_under(settings.public_url or "", path, query)


def href_under(base: str, path: str, query: str = "") -> str:
    """`base` + `path?query` (an empty base gives a relative reference)."""
    target = f"{path}?{query}" if query else path
    return f"{base}{target}"


def connection_base(request: Request, settings: Settings) -> str:
    """ESS_PUBLIC_URL, else scheme://host:port of the socket this request came in on."""
    if settings.public_url:
        return settings.public_url
    server = request.scope.get("server")
    if not server:
        return ""
    host, port = server
    host = f"[{host}]" if ":" in str(host) else host
    return f"{request.url.scheme}://{host}:{port}"


def same_route_href(request: Request, settings: Settings, **changes: str | int) -> str:
    """The href of this request's route with some query parameters replaced."""
    return same_route_href_under(settings.public_url or "", request, **changes)


def same_route_href_under(base: str, request: Request, **changes: str | int) -> str:
    """As same_route_href, under `base`."""
    url = request.url.remove_query_params(list(changes)).include_query_params(**changes)
    return href_under(base, url.path, url.query)
