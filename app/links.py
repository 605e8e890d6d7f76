"""Links the API hands out: under ESS_PUBLIC_URL when set, else relative to the request.

Never built from the Host header, which any client can forge.
"""

from __future__ import annotations

from starlette.requests import Request

from app.config import Settings


def public_href(settings: Settings, path: str, query: str = "") -> str:
    """The href of `path?query`: absolute under the public URL, else a relative reference."""
    target = f"{path}?{query}" if query else path
    return f"{settings.public_url}{target}" if settings.public_url else target


def same_route_href(request: Request, settings: Settings, **changes: str | int) -> str:
    """The href of this request's route with some query parameters replaced."""
    url = request.url.remove_query_params(list(changes)).include_query_params(**changes)
    return public_href(settings, url.path, url.query)
