"""An open-loop HTTP load: requests sent at a fixed rate, whatever the answers take.

wrk (a closed loop) sends the next request only once an answer is back, so a slow server
is sent less and its queueing never shows. Here request i leaves at `i / rate` seconds
(asyncio, httpx) and its latency is counted from that planned moment: time spent waiting
for a free connection or for the client's own event loop counts against the server, as it
would for a visitor (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

CONNECTIONS = 64
KEEPALIVE_EXPIRY_S = 3.0
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Sent:
    """One request: its kind, status (0: no answer), ms from its planned start, ms from when
    the client could actually send it (the difference is the client's own lag)."""

    kind: str
    status: int
    ms: float
    sent_ms: float
    error: str = ""  # the client's exception when there was no answer


@dataclass(frozen=True)
class LoadResult:
    """Every request of one run, and how late the client itself was in sending them."""

    rate: float
    seconds: float
    sent: list[Sent] = field(default_factory=list)
    worst_send_lag_ms: float = 0.0

    def errors(self) -> int:
        """Requests without a 2xx answer (socket errors and timeouts included)."""
        return sum(1 for one in self.sent if not 200 <= one.status < 300)

    def percentile_ms(self, share: float, kind: str | None = None, *,
                      from_send: bool = False) -> float:
        """The latency under which `share` of the requests (of one kind) finished."""
        latencies = sorted(one.sent_ms if from_send else one.ms for one in self.sent
                           if kind in (None, one.kind))
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))]

    def kinds(self) -> Counter[str]:
        """How many requests of each kind were sent."""
        return Counter(one.kind for one in self.sent)

    def median_ms(self) -> float:
        """The median latency of every request."""
        return statistics.median(one.ms for one in self.sent) if self.sent else float("nan")


async def _one(client: httpx.AsyncClient, kind: str, path: str, planned: float) -> Sent:
    """Send one request; its latency from the planned moment and from now."""
    now, error = time.perf_counter(), ""
    try:
        response = await client.get(path)
        await response.aread()
        status = response.status_code
    except httpx.HTTPError as failure:
        status, error = 0, f"{type(failure).__name__}: {failure}"
    done = time.perf_counter()
    return Sent(kind, status, (done - planned) * 1000, (done - now) * 1000, error)


async def _run(base_url: str, requests: Sequence[tuple[str, str]], rate: float) -> LoadResult:
    """Release request i at `i / rate` into a queue that CONNECTIONS senders drain.

    The client never holds more requests in flight than it has connections: a slow server
    makes the queue grow (each queued request's latency still counts from its planned
    moment), not httpx's connection pool, whose bookkeeping grows with every waiting request
    and made the client itself fall minutes behind its schedule.
    """
    # Idle connections are dropped before the server's keep-alive timeout (5 s by default):
    # httpx's own 5 s equals it, so a request sent on a connection the server was closing got
    # a ReadError (2-5 of 3,000 at 50 req/s), which a browser or proxy would have retried.
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS,
                          keepalive_expiry=KEEPALIVE_EXPIRY_S)
    queue: asyncio.Queue[tuple[int, str, str, float] | None] = asyncio.Queue()
    sent: list[Sent | None] = [None] * len(requests)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=TIMEOUT_SECONDS,
                                 headers={"Accept-Encoding": "gzip"}) as client:

        async def sender() -> None:
            while (item := await queue.get()) is not None:
                index, kind, path, planned = item
                sent[index] = await _one(client, kind, path, planned)

        senders = [asyncio.create_task(sender()) for _ in range(CONNECTIONS)]
        started, worst_lag = time.perf_counter(), 0.0
        for index, (kind, path) in enumerate(requests):
            planned = started + index / rate
            await asyncio.sleep(max(0.0, planned - time.perf_counter()))
            worst_lag = max(worst_lag, time.perf_counter() - planned)
            queue.put_nowait((index, kind, path, planned))
        for _ in senders:
            queue.put_nowait(None)
        await asyncio.gather(*senders)
    return LoadResult(rate, len(requests) / rate, [one for one in sent if one is not None],
                      worst_lag * 1000)


def open_loop(base_url: str, requests: Sequence[tuple[str, str]], rate: float) -> LoadResult:
    """Send `requests` ((kind, path) pairs) to `base_url` at `rate` per second; the results."""
    return asyncio.run(_run(base_url, requests, rate))
