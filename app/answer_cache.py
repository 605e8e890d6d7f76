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
