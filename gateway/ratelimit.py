"""Rate limits in Redis: per client IP, per verified user (or share link), and stricter
for the login and the exchange of a share link.

Counting is the ``limits`` package's sliding window counter (two integers per key and
window, one atomic Lua script per hit) over the ``redis.asyncio`` client the rest of the
stack uses; the hits of concurrent requests share one round trip
(``gateway.rate_counts``). A refused request is 429 ``RATE_LIMITED`` with
``Retry-After`` in whole seconds (at least 1).

When Redis cannot answer, each class of endpoint has its own policy:

- ``Policy.FAIL_OPEN`` (API reads): the request passes and a warning is logged once per
  outage; an unlimited read is better than an outage of the whole API.
- ``Policy.FAIL_CLOSED`` (initData exchange, dev login, share link exchange): 503
  ``UNAVAILABLE``; without a counter the login is an unthrottled oracle for forged
  launches, and every share link guess costs a database lookup.

After a failure the limiter stops asking Redis for ``backoff_seconds`` so an outage
does not add a timeout to every request.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis
from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.exceptions import RedisError

from gateway.errors import APIError
from gateway.metrics import RATE_LIMIT_STORAGE_ERRORS, RATE_LIMITED
from gateway.rate_counts import SlidingWindowCounts

log = logging.getLogger(__name__)

UNAVAILABLE_RETRY_SECONDS = 5


class Policy(enum.Enum):
    """What a limit does while Redis cannot answer."""

    FAIL_OPEN = "open"
    FAIL_CLOSED = "closed"


def parse_limits(text: str) -> list[RateLimitItem]:
    """``"20/minute;200/hour"`` → limit items; ``ValueError`` on bad or zero limits."""
    items = parse_many(text)
    if not items or any(item.amount < 1 for item in items):
        raise ValueError("a rate limit must allow at least one request")
    return items


@dataclass(frozen=True)
class Limits:
    """The configured limits of each class, parsed."""

    per_ip: Sequence[RateLimitItem]
    per_user: Sequence[RateLimitItem]
    auth_per_ip: Sequence[RateLimitItem]
    per_share_link: Sequence[RateLimitItem]
    share_exchange_per_ip: Sequence[RateLimitItem]
    share_exchange_per_link: Sequence[RateLimitItem]

    @classmethod
    def parse(cls, **texts: str) -> Limits:
        """Each class from its ``limits`` notation, named as the fields are."""
        return cls(**{name: parse_limits(text) for name, text in texts.items()})


def client_address(remote_addr: str | None, forwarded_for: Sequence[str], trusted: int) -> str:
    """The client's address as the rate limiter counts it.

    With ``trusted`` proxies in front, the ``trusted``-th X-Forwarded-For entry from the
    right is the address the outermost of them saw; anything left of it was written by
    the client and is ignored. With no trusted proxy the header is ignored. IPv6 clients
    are counted per /64, the block one subscriber usually holds.
    """
    candidate = remote_addr or ""
    if trusted > 0:
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= trusted:
            candidate = hops[-trusted]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        # Not an address (a unix socket, a broken proxy): one bucket for all such peers.
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def storage_uri(redis_url: str) -> str:
    """The ``limits`` URI naming the same server as ``redis_url``."""
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


class RateLimiter:
    """Counts hits in Redis; ``check`` raises ``APIError`` (429 or 503) to refuse."""

    def __init__(
        self,
        redis_url: str,
        limits: Limits,
        *,
        key_prefix: str,
        timeout_seconds: float,
        backoff_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self._client: redis.Redis = redis.Redis.from_url(
            redis_url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        # limits types its client options as scalars; a shared pool is documented too.
        pool: Any = self._client.connection_pool
        storage = RedisStorage(
            storage_uri(redis_url),
            wrap_exceptions=True,
            implementation="redispy",
            key_prefix=key_prefix,
            connection_pool=pool,
        )
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        self._counts = SlidingWindowCounts(self._client, key_prefix)
        self._backoff = backoff_seconds
        self._clock = clock
        self._down_until: float | None = None

    async def close(self) -> None:
        await self._client.aclose()

    async def check(
        self, scope: str, identity: str, items: Sequence[RateLimitItem], policy: Policy
    ) -> None:
        """Count one request of ``identity`` against every item of ``scope``."""
        if self._down_until is not None and self._clock() < self._down_until:
            self._refuse_if_closed(policy)
            return
        try:
            for item in items:
                if not await self._counts.hit(item, scope, identity):
                    stats = await self._strategy.get_window_stats(item, scope, identity)
                    RATE_LIMITED.labels(scope).inc()
                    raise rate_limited(stats.reset_time - time.time())
        except (StorageError, RedisError, OSError, TimeoutError) as exc:
            self._storage_failed(exc)
            self._refuse_if_closed(policy)
            return
        if self._down_until is not None:
            log.info("rate limit storage is reachable again")
            self._down_until = None

    def _storage_failed(self, exc: Exception) -> None:
        RATE_LIMIT_STORAGE_ERRORS.inc()
        if self._down_until is None:
            # Once per outage: the type only, a Redis error message may carry the URL.
            cause = exc.__cause__ if isinstance(exc, StorageError) and exc.__cause__ else exc
            log.warning(
                "rate limit storage unreachable (%s): API reads pass unlimited, "
                "the login is refused until it answers",
                type(cause).__name__,
            )
        self._down_until = self._clock() + self._backoff

    @staticmethod
    def _refuse_if_closed(policy: Policy) -> None:
        if policy is Policy.FAIL_CLOSED:
            raise APIError(
                503,
                "UNAVAILABLE",
                "a service is temporarily unavailable, retry later",
                headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
            )


def rate_limited(retry_in_seconds: float) -> APIError:
    """429 with ``Retry-After`` rounded up to whole seconds, never below 1."""
    seconds = max(1, math.ceil(retry_in_seconds))
    return APIError(
        429,
        "RATE_LIMITED",
        f"too many requests, retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )
