"""The OpenAPI document, made to tell the truth about the API.

FastAPI documents a 422 `{"detail": …}` for every parameter error; this API answers 400
with the one error shape. Here the document gets: `ErrorResponse` as a component, the
real error statuses of each route (400 on every route: unknown query parameters are
refused), the admin token as a bearer security scheme, and the bounds and accepted values
that depend on the settings and the taxonomy (page size, radius, sectors, régions…).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from app import regions
from app.config import Settings
from app.deps import BBOX_PATTERN, SIREN_PATTERN
from app.models import STATUSES
from app.taxonomy import LegalForm, Taxonomy

ADMIN_SECURITY_SCHEME = "adminToken"
BBOX_DESCRIPTION = (
    "minLon,minLat,maxLon,maxLat in WGS84 degrees: 4 comma-separated decimal numbers "
    "(no exponent, no leading zeros), longitudes in [-180, 180], latitudes in [-90, 90], "
    "and minLat ≤ maxLat (which the pattern cannot say). minLon > maxLon crosses the "
    "antimeridian. Anything else is a 400."
)
# Pydantic writes the bounds of a validated-before type under their Python names.
_JSON_SCHEMA_BOUNDS = {
    "ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum",
}


class ErrorDetail(BaseModel):
    """What went wrong, and which parameter is to blame when one is."""

    status: int = Field(description="The HTTP status, repeated")
    code: str = Field(description="A stable, machine-readable code, e.g. invalid_parameter")
    message: str = Field(description="A human-readable explanation")
    parameter: str | None = Field(default=None, description="The parameter at fault, if any")


class ErrorResponse(BaseModel):
    """The one shape of every error answer of the API."""

    error: ErrorDetail


# Routes declare their error statuses with `responses={404: {}}`; this module fills them in.
_ERROR_DESCRIPTIONS = {
    400: "A parameter is malformed, out of range or unknown (named in `error.parameter`)",
    401: "Missing or wrong admin token",
    404: "No such resource",
    409: "Another import is running",
    413: "The upload is larger than the configured limit",
    422: "The request body cannot be used",
    429: "Too many requests from this client; see Retry-After",
    503: "The database is unreachable, outdated or damaged",
}
_ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"description": "The scheme to use: Bearer",
                               "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait before trying again",
                          "schema": {"type": "integer", "minimum": 1}}},
}


def describe_api(app: FastAPI, settings: Settings, taxonomy: Taxonomy) -> dict[str, Any]:
    """The OpenAPI document of this app, built once."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        schemas.update(_error_schemas())
        for operation in _operations(document):
            _document_errors(operation)
            _document_admin_token(operation, document)
            _document_parameters(operation, settings, taxonomy)
        app.openapi_schema = document
    return app.openapi_schema


def install_openapi(app: FastAPI, settings: Settings, taxonomy: Taxonomy) -> None:
    """Serve the corrected document at /openapi.json."""

    def openapi() -> dict[str, Any]:
        return describe_api(app, settings, taxonomy)

    app.openapi = openapi  # type: ignore[method-assign]


def _error_schemas() -> dict[str, Any]:
    """ErrorResponse and ErrorDetail as component schemas."""
    schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs")
    return {**definitions, "ErrorResponse": schema}


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for path in document.get("paths", {}).values() for op in path.values()]


def _error_answer(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": _ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
    if status in _ERROR_HEADERS:
        answer["headers"] = _ERROR_HEADERS[status]
    return answer


def _document_errors(operation: dict[str, Any]) -> None:
    """Drop FastAPI's 422 (unless the route declared a body error); add 400 everywhere."""
    responses = operation["responses"]
    default_422 = responses.get("422", {}).get("content", {}).get("application/json", {})
    if "HTTPValidationError" in str(default_422):
        del responses["422"]
    responses["400"] = _error_answer(400)
    for status in list(responses):
        if status.isdigit() and int(status) in _ERROR_DESCRIPTIONS:
            responses[status] = _error_answer(int(status))


def _document_admin_token(operation: dict[str, Any], document: dict[str, Any]) -> None:
    """The Authorization header parameter of admin routes becomes a bearer security scheme."""
    parameters = operation.get("parameters", [])
    kept = [p for p in parameters if not (p["in"] == "header" and p["name"] == "authorization")]
    if len(kept) == len(parameters):
        return
    operation["parameters"] = kept
    operation["security"] = [{ADMIN_SECURITY_SCHEME: []}]
    operation["responses"]["401"] = _error_answer(401)
    # Too many failed authentications from one client are refused before routing.
    operation["responses"]["429"] = _error_answer(429)
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[ADMIN_SECURITY_SCHEME] = {
        "type": "http", "scheme": "bearer",
        "description": "The admin token (ESS_ADMIN_TOKEN_HASH holds its hash)",
    }


def _accepted_values(settings: Settings, taxonomy: Taxonomy) -> dict[str, dict[str, Any]]:
    """The schema of each parameter whose accepted values depend on the instance."""
    return {
        "category": {"items": {"type": "string", "enum": sorted(taxonomy.slugs())}},
        "region": {"items": {"type": "string",
                             "enum": [r.code for r in regions.list_regions()]}},
        "departement": {"items": {"type": "string",
                                  "enum": [d.code for d in regions.list_departements()]}},
        "legal_form": {"items": {"type": "string", "enum": [f.value for f in LegalForm]}},
        "status": {"items": {"type": "string", "enum": [*STATUSES, "all"]}},
        "siren": {"items": {"type": "string", "pattern": SIREN_PATTERN}},
        "bbox": {"pattern": BBOX_PATTERN, "description": BBOX_DESCRIPTION},
        "q": {"maxLength": 200},
        "limit": {"maximum": settings.max_page_size},
        "radius_km": {"maximum": settings.max_nearby_radius_km},
    }


def _plain_schema(parameter: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without the `null` branch (absent is not null)."""
    schema: dict[str, Any] = parameter["schema"]
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        outer = {k: v for k, v in schema.items() if k != "anyOf"}
        schema = parameter["schema"] = {**outer, **branches[0]}
    for python_name, json_name in _JSON_SCHEMA_BOUNDS.items():
        if python_name in schema:
            schema[json_name] = schema.pop(python_name)
    return schema


def _document_parameters(
    operation: dict[str, Any], settings: Settings, taxonomy: Taxonomy
) -> None:
    """Write the instance's bounds and accepted values into the parameters' schemas."""
    accepted = _accepted_values(settings, taxonomy)
    for parameter in operation.get("parameters", []):
        schema = _plain_schema(parameter)
        extra = accepted.get(parameter["name"])
        if extra is None or parameter["in"] != "query":
            continue
        if "maximum" in extra and "maximum" in schema:
            continue  # the route's own, tighter bound (e.g. /api/geocode's limit)
        schema.update(extra)
        if "description" in extra:
            parameter["description"] = extra["description"]
