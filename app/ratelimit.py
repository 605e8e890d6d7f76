"""Per-client request limits: a token bucket per client key, in memory, bounded in size.

Each client gets `burst` requests at once, then `rate` a second. At most `max_clients`
buckets are kept: the least recently seen client is forgotten first, so a flood of new
addresses costs bounded memory (a forgotten client simply starts again with a full bucket).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from geocode.ratelimit import TokenBucket

DEFAULT_MAX_CLIENTS = 10_000


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
        if rate <= 0 or burst < 1 or max_clients < 1:
            raise ValueError(
                f"need rate > 0, burst >= 1, max_clients >= 1; got {rate}, {burst}, {max_clients}"
            )
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
