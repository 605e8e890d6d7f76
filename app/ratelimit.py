"""Per-client request limits: in this process, or shared by every server through Redis.

Each client gets `burst` requests at once, then `rate` a second. Without ESS_REDIS_URL a
token bucket per client lives in memory, at most `max_clients` of them: the least recently
seen client is forgotten first, so a flood of new addresses costs bounded memory (a
forgotten client simply starts again with a full bucket); several servers then each count
on their own. With ESS_REDIS_URL the counts live in Redis (the `limits` library), so every
server and worker process shares them.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, TypeVar

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from app.errors import ServiceUnavailable
from geocode.ratelimit import TokenBucket

DEFAULT_MAX_CLIENTS = 10_000
REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
_Answer = TypeVar("_Answer")


class RateLimiter(Protocol):
    """What the routes need of a per-client limiter."""

    def take(self, client: str) -> float:
        """Take a token for `client`: 0.0 when allowed, else the seconds until one is free."""

    def wait(self, client: str) -> float:
        """Seconds until `client` may take a token (0.0 when it may now); takes nothing."""


def _check_limits(rate: float, burst: int, max_clients: int) -> None:
    """Refuse limits that would never allow a request."""
    if rate <= 0 or burst < 1 or max_clients < 1:
        raise ValueError(
            f"need rate > 0, burst >= 1, max_clients >= 1; got {rate}, {burst}, {max_clients}"
        )


def rate_limiter(redis_url: str | None, rate: float, burst: int, *, name: str) -> RateLimiter:
    """The limiter the settings ask for: shared through Redis when a URL is set, else local."""
    if redis_url:
        return SharedRateLimiter(redis_url, rate, burst, name=name)
    return ClientRateLimiter(rate, burst)


class ClientRateLimiter:
    """Token buckets keyed by client (an IP address), safe to share between threads."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_clients: int = DEFAULT_MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_limits(rate, burst, max_clients)
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of clients tracked now."""
        with self._lock:
            return len(self._buckets)

    def take(self, client: str) -> float:
        """Take a token for `client`: 0.0 when allowed, else the seconds until one is free."""
        with self._lock:
            bucket = self._bucket(client)
        return bucket.reserve()

    def wait(self, client: str) -> float:
        """Seconds until `client` may take a token (0.0 when it may now); takes nothing."""
        with self._lock:
            bucket = self._buckets.get(client)
        return bucket.wait_time() if bucket is not None else 0.0

    def _bucket(self, client: str) -> TokenBucket:
        """The client's bucket, most recently seen last (a new one starts full)."""
        bucket = self._buckets.get(client)
        if bucket is not None:
            self._buckets.move_to_end(client)
            return bucket
        bucket = self._buckets[client] = TokenBucket(self.rate, self.burst, clock=self._clock)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return bucket


class SharedRateLimiter:
    """Per-client limits counted in Redis, shared by every server that names the same Redis.

    A moving window of `burst` requests per `burst / rate` seconds (rounded up): the same
    burst as the in-process bucket, and at most its rate over any such window. Redis keeps
    at most `burst` timestamps a client, and forgets them once the window has passed.
    """

    def __init__(self, redis_url: str, rate: float, burst: int, *, name: str) -> None:
        _check_limits(rate, burst, max_clients=1)  # Redis forgets clients by itself
        self.rate = rate
        self.burst = burst
        self._strategy = MovingWindowRateLimiter(storage_from_string(redis_url))
        self._item = RateLimitItemPerSecond(burst, math.ceil(burst / rate),
                                            namespace=f"ess-atlas:{name}")

    def take(self, client: str) -> float:
        """Take a token for `client`: 0.0 when allowed, else the seconds until one is free."""
        if self._ask(lambda: self._strategy.hit(self._item, client)):
            return 0.0
        return max(self.wait(client), 0.001)

    def wait(self, client: str) -> float:
        """Seconds until `client` may take a token (0.0 when it may now); takes nothing."""
        stats = self._ask(lambda: self._strategy.get_window_stats(self._item, client))
        return 0.0 if stats.remaining > 0 else max(stats.reset_time - time.time(), 0.0)

    @staticmethod
    def _ask(question: Callable[[], _Answer]) -> _Answer:
        """Ask Redis; a Redis that does not answer is a 503, never an unlimited client."""
        try:
            return question()
        except RedisError:
            raise ServiceUnavailable(
                "the shared rate-limit store (ESS_REDIS_URL) does not answer") from None
