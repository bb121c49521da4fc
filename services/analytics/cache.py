"""Redis cache of hot responses, invalidated by the collector's ingest events.

Each channel's cached responses live in one Redis hash ``<prefix><channel_id>``, field =
the RPC and its serialized request. An ingest event for the channel deletes the hash, so
the next request recomputes; the hash also expires ``ttl`` seconds after it was created
in case an event is lost. Only requests whose answer depends on nothing but the stored
data (an explicit period end) are cached; "until now" answers move with the clock.
"""

from __future__ import annotations

import redis.asyncio as redis
from prometheus_client import Counter

CACHE_LOOKUPS = Counter(
    "analytics_cache_lookups_total", "Response cache lookups by result", ["method", "result"]
)


class ResponseCache:
    """Serialized responses per channel in Redis."""

    def __init__(self, client: redis.Redis, *, prefix: str, ttl_seconds: int) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl = ttl_seconds

    def _key(self, channel_id: int) -> str:
        return f"{self._prefix}{channel_id}"

    async def get(self, channel_id: int, method: str, request: bytes) -> bytes | None:
        """The cached response, or None."""
        value = await self._redis.hget(self._key(channel_id), method.encode() + request)
        CACHE_LOOKUPS.labels(method, "hit" if value is not None else "miss").inc()
        return value.encode() if isinstance(value, str) else value

    async def put(self, channel_id: int, method: str, request: bytes, response: bytes) -> None:
        """Store a response; the channel's hash expires ``ttl`` after its first entry."""
        key = self._key(channel_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, method.encode() + request, response)
            pipe.expire(key, self._ttl, nx=True)
            await pipe.execute()

    async def invalidate(self, channel_id: int) -> None:
        """Forget every cached response of the channel."""
        await self._redis.delete(self._key(channel_id))
