"""GET /api/geocode: places for the map's search box (communes, postcodes, addresses)."""

from __future__ import annotations

import math
import re
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from app.deps import Integer, SettingsDep, only_parameters
from app.errors import InvalidParameter, TooManyRequests
from app.place_search import PlaceHit, PlaceSearch, place_search
from app.ratelimit import RateLimiter, rate_limiter

router = APIRouter(prefix="/api", tags=["geocode"])
MAX_LIMIT = 20
# Two characters that are not (ASCII) spaces; the OpenAPI document states the same pattern.
PLACE_TEXT_PATTERN = r"[^ \t\n\r\f\v][\s\S]*[^ \t\n\r\f\v]"
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
# Guards the lazy creation of the per-application search service and limiter.
_state_lock = threading.Lock()


class PlaceSearchAnswer(BaseModel):
    """The answer of the place search: hits best first, and what could not be searched."""

    query: str
    results: list[PlaceHit]
    warnings: list[str]


def get_place_search(request: Request, settings: SettingsDep) -> PlaceSearch:
    """The application's place search, created on first use (it keeps BAN connections open)."""
    with _state_lock:
        if getattr(request.app.state, "place_search", None) is None:
            request.app.state.place_search = place_search(settings)
        search: PlaceSearch = request.app.state.place_search
    return search


def get_rate_limiter(request: Request, settings: SettingsDep) -> RateLimiter:
    """The application's per-client limiter of place searches, created on first use."""
    with _state_lock:
        if getattr(request.app.state, "geocode_limiter", None) is None:
            request.app.state.geocode_limiter = rate_limiter(
                settings.redis_url, settings.geocode_api_rate_limit, settings.geocode_api_burst,
                name="geocode",
            )
        limiter: RateLimiter = request.app.state.geocode_limiter
    return limiter


def place_text(
    q: Annotated[
        str,
        Query(min_length=2, max_length=200, description="Town, postcode or address",
              json_schema_extra={"pattern": PLACE_TEXT_PATTERN}),
    ],
) -> str:
    """The searched text, with at least 2 characters that are not spaces."""
    if not re.search(PLACE_TEXT_PATTERN, q):
        raise InvalidParameter("q must have at least 2 characters besides spaces", parameter="q")
    return _SPACES.sub(" ", q).strip(" ")


def too_many_requests(wait_seconds: float) -> TooManyRequests:
    """The 429 error, saying when to come back."""
    retry_after = max(1, math.ceil(wait_seconds))
    return TooManyRequests(
        "too many place searches from this client; see Retry-After",
        headers={"Retry-After": str(retry_after)},
    )


@router.get(
    "/geocode",
    response_model=PlaceSearchAnswer,
    responses={429: {"description": "Too many requests from this client (see Retry-After)"}},
    dependencies=[Depends(only_parameters("q", "limit"))],
)
def geocode(
    request: Request,
    search: Annotated[PlaceSearch, Depends(get_place_search)],
    limiter: Annotated[RateLimiter, Depends(get_rate_limiter)],
    q: Annotated[str, Depends(place_text)],
    limit: Annotated[
        Integer, Query(ge=1, le=MAX_LIMIT, description="Maximum number of places")
    ] = 10,
) -> PlaceSearchAnswer:
    """Communes and postcodes (offline), and addresses when a BAN/addok URL is configured."""
    wait = limiter.take(request.client.host if request.client else "unknown")
    if wait > 0:
        raise too_many_requests(wait)
    found = search.search(q, limit)
    return PlaceSearchAnswer(query=q, results=list(found.hits), warnings=list(found.warnings))
