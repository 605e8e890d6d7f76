"""Map every error to the one JSON error shape; a 500 never shows a traceback.

Unexpected errors (500) are answered by app.middleware.RequestIdMiddleware.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from app.errors import AtlasError, error_body

_CANDIDATE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


async def _atlas_error(_request: Request, exc: Exception) -> JSONResponse:
    """A domain error: its own status and public message."""
    assert isinstance(exc, AtlasError)  # noqa: S101
    return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=exc.headers)


def _parameter_message(error: dict[str, object]) -> str:
    """A validation problem worded around the parameter it concerns."""
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    given = error.get("input")
    return f"{message} (got {given!r})" if isinstance(given, str | int | float) else message


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's parsing errors: 400 naming the parameter, 422 for a body."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    first = exc.errors()[0]
    location = [str(part) for part in first.get("loc", ())]
    if location and location[0] == "body":
        body = error_body(422, "invalid_body", _parameter_message(first), ".".join(location[1:]))
        return JSONResponse(body, status_code=422)
    parameter = location[1] if len(location) > 1 else None
    message = (
        f"{parameter}: {_parameter_message(first)}" if parameter else _parameter_message(first)
    )
    return JSONResponse(error_body(400, "invalid_parameter", message, parameter), status_code=400)


def allowed_methods(request: Request) -> str:
    """Every method some route accepts on this path (Starlette names only the first route's).

    Mounted static files take GET and HEAD only.
    """
    routes = [route for route in request.app.router.routes if not isinstance(route, Mount)]
    methods = {
        method
        for method in _CANDIDATE_METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
               for route in routes)
    } or {"GET"}
    if "GET" in methods:
        methods.add("HEAD")  # app.middleware.HeadMiddleware answers HEAD wherever GET
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (unknown path, wrong method) in our shape."""
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    body = error_body(exc.status_code, code, str(exc.detail))
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an application."""
    app.add_exception_handler(AtlasError, _atlas_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
