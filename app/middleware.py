"""The HTTP envelope around every route: request ids, the 500 answer, HEAD, security headers.

Pure ASGI middlewares (no BaseHTTPMiddleware), so streamed responses stay streamed.
"""

from __future__ import annotations

import logging
import uuid

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# Scope key set on a HEAD run as GET: a response that can skip its body (a file) reads it.
HEAD_REQUEST = "ess.head_request"
# What every API answer may do in a browser: nothing (it is data, never a page).
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": API_CONTENT_SECURITY_POLICY,
}


def internal_error_response(request_id: str) -> JSONResponse:
    """The 500 answer: the one error shape, the request id, never a traceback."""
    message = f"internal error; it has been logged with request id {request_id}"
    return JSONResponse(error_body(500, "internal_error", message), status_code=500)


def _log_unexpected(scope: Scope, request_id: str, error: Exception) -> None:
    """One log line per failed request; the traceback only at DEBUG level."""
    summary = str(error).splitlines()[0][:200] if str(error) else ""
    logger.error(
        "request %s: %s %s failed: %s: %s",
        request_id, scope.get("method"), scope.get("path"), type(error).__name__, summary,
    )
    logger.debug("traceback of request %s", request_id, exc_info=error)


class RequestIdMiddleware:
    """Give each request an id (X-Request-ID) and turn any unexpected error into a clean 500.

    Catching the error here, below Starlette's ServerErrorMiddleware, means uvicorn never
    sees it: it neither logs a traceback nor closes the keep-alive connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request with its id; answer 500 if it fails before the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            _log_unexpected(scope, request_id, error)
            if not started:  # else uvicorn closes the connection: the body is cut short
                await internal_error_response(request_id)(scope, receive, send_with_id)


class SecurityHeadersMiddleware:
    """Add the security headers to every answer that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; complete the headers of its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_secured)


class HeadMiddleware:
    """HEAD wherever GET: the GET answer's status and headers, without its body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run a HEAD request as GET and drop the body it produces."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET", HEAD_REQUEST: True}, receive, send_headers_only)
