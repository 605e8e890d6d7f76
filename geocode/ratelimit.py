"""A thread-safe token bucket: at most `rate` requests a second, bursts up to `capacity`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Hands out one token per request; refills at `rate` tokens a second up to `capacity`."""

    def __init__(
        self,
        rate: float,
        capacity: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        """Take a token if one is available now; never waits."""
        return self.reserve() == 0.0

    def acquire(self) -> None:
        """Take a token, sleeping until one is available."""
        while (wait := self.reserve()) > 0.0:
            self._sleep(wait)

    def reserve(self) -> float:
        """Take a token and return 0.0, or return how long until one is free (never waits)."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate

    def wait_time(self) -> float:
        """How long until a token is free (0.0 when one is now), without taking it."""
        with self._lock:
            self._refill()
            return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._updated = now
