"""Domain errors: each carries an HTTP status and a public message.

Every error answer of the API has one shape::

    {"error": {"status": 400, "code": "invalid_parameter",
               "message": "...", "parameter": "bbox"}}

`parameter` is present when one input is to blame.
"""

from __future__ import annotations

from typing import Any


class AtlasError(Exception):
    """Base of the errors whose message may be shown to the public."""

    status_code = 500
    code = "internal_error"

    def __init__(
        self, message: str, *, parameter: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter
        self.headers = {**self.default_headers(), **(headers or {})}

    def default_headers(self) -> dict[str, str]:
        """Headers every answer of this error carries."""
        return {}

    def to_body(self) -> dict[str, Any]:
        """The JSON error body of this error."""
        return error_body(self.status_code, self.code, self.message, self.parameter)


class InvalidParameter(AtlasError):
    """A request parameter is malformed, out of range or unknown."""

    status_code = 400
    code = "invalid_parameter"


class InvalidBody(AtlasError):
    """A request body cannot be used."""

    status_code = 422
    code = "invalid_body"


class NotFound(AtlasError):
    """The requested resource does not exist."""

    status_code = 404
    code = "not_found"


class Unauthorized(AtlasError):
    """Missing or wrong credentials."""

    status_code = 401
    code = "unauthorized"

    def default_headers(self) -> dict[str, str]:
        """RFC 9110: a 401 names the scheme to authenticate with."""
        return {"WWW-Authenticate": 'Bearer realm="ess-atlas admin"'}


class Conflict(AtlasError):
    """The request conflicts with work already under way."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(AtlasError):
    """The request body is over the configured limit."""

    status_code = 413
    code = "payload_too_large"


class TooManyRequests(AtlasError):
    """The client sent too many requests in a short time."""

    status_code = 429
    code = "too_many_requests"


class ServiceUnavailable(AtlasError):
    """A dependency (the database) cannot serve now."""

    status_code = 503
    code = "service_unavailable"


def error_body(
    status: int, code: str, message: str, parameter: str | None = None
) -> dict[str, Any]:
    """Build the one JSON error shape used everywhere."""
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if parameter is not None:
        error["parameter"] = parameter
    return {"error": error}
