"""Answers kept in memory per data version: the views everyone asks for, made once.

The map's first view (the clusters and facets of all of France) is the same for every
visitor. Each server process keeps the bodies of the answers it made last, keyed by their
ETag (`http_cache.request_validators`: the data version, the path and the query), so an
answer is only ever served for the data it was made from: any write moves the version and
with it every key. Bounded: at most `max_answers` bodies of at most `max_body_bytes` each,
the least recently used forgotten first. Processes do not share it; each makes an answer
once per data version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from app import http_cache
from app.geojson import json_bytes

MAX_ANSWERS = 256
MAX_BODY_BYTES = 256 * 1024


class AnswerCache:
    """Response bodies by ETag, least recently used first out; safe between threads."""

    def __init__(self, max_answers: int = MAX_ANSWERS,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.max_answers, self.max_body_bytes = max_answers, max_body_bytes
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def body(self, tag: str, make: Callable[[], bytes]) -> bytes:
        """The body kept under `tag`, or `make()`'s (kept when small enough)."""
        with self._lock:
            kept = self._bodies.get(tag)
            if kept is not None:
                self._bodies.move_to_end(tag)
                return kept
        made = make()  # outside the lock: two threads may both make it, never wait on one
        if len(made) <= self.max_body_bytes:
            with self._lock:
                self._bodies[tag] = made
                self._bodies.move_to_end(tag)
                while len(self._bodies) > self.max_answers:
                    self._bodies.popitem(last=False)
        return made

    def __len__(self) -> int:
        with self._lock:
            return len(self._bodies)


def kept_json_response(
    request: Request, connection: Connection, make: Callable[[], Any], media_type: str,
) -> Response:
    """`make()`'s document as JSON with its ETag, or 304 when the client holds it.

    The body is the one this process kept for that ETag, made and kept now if it has none.
    """
    validators = http_cache.request_validators(request, connection)
    if unchanged := http_cache.not_modified(request, validators):
        return unchanged
    answers: AnswerCache = request.app.state.answers
    body = answers.body(validators["ETag"], lambda: json_bytes(make()))
    return Response(body, media_type=media_type, headers=validators)
