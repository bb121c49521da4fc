"""Redis cache of hot responses, invalidated by the collector's ingest events.

Each channel's cached responses live in one Redis hash ``<prefix><channel_id>``, field =
the RPC and its serialized request. An ingest event for the channel deletes the hash, so
the next request recomputes; the hash also expires ``ttl`` seconds after it was created
in case an event is lost. Only answers that depend on nothing but the stored data are
cached (``analyticbot.runtime.kept_answers``): a period with an explicit end, a post's
detail once no reach waits for the post to age; "until now" answers move with the clock.

An answer computed while an event arrived must not be stored after the event's
invalidation: each channel has an epoch counter that invalidation increments, a lookup
reads it beside the hash, and ``put`` stores only if the epoch is still the one read
before computing (checked and written atomically in a Lua script).

With a ``topic``, an invalidation also publishes ``c:<channel id>`` on it, in the same
transaction, so no invalidation happens unannounced: the gateways keep analytics'
cached answers in memory until they hear it (gateway/answer_memo.py). The ingest worker
announces that it is hearing the collector's events (``alive``, ``deaf``;
services/analytics/events.py).
"""

from __future__ import annotations

import redis.asyncio as redis
from prometheus_client import Counter
from redis.exceptions import ResponseError

from analyticbot.runtime.memo import CHANNEL_PREFIX
from analyticbot.runtime.redis_batch import RedisBatch

CACHE_LOOKUPS = Counter(
    "analytics_cache_lookups_total", "Response cache lookups by result", ["method", "result"]
)


# KEYS: epoch, hash; ARGV: epoch read before computing, field, response, ttl.
_PUT_IF_SAME_EPOCH = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4], 'NX')
return 1
"""


class ResponseCache:
    """Serialized responses per channel in Redis."""

    def __init__(
        self, client: redis.Redis, *, prefix: str, ttl_seconds: int, topic: str | None = None
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl = ttl_seconds
        self.topic = topic
        self._put = client.register_script(_PUT_IF_SAME_EPOCH)
        # Lookups of concurrent calls share round trips (a hit is the whole call).
        self._lookups = RedisBatch(client)

    def _key(self, channel_id: int) -> str:
        return f"{self._prefix}{channel_id}"

    def _epoch_key(self, channel_id: int) -> str:
        return f"{self._prefix}epoch:{channel_id}"

    async def get(self, channel_id: int, method: str, request: bytes) -> tuple[bytes | None, str]:
        """The cached response (or None) and the channel's epoch to hand to ``put``."""
        value, epoch = await self._lookups.run(
            ("HGET", self._key(channel_id), method.encode() + request),
            ("GET", self._epoch_key(channel_id)),
        )
        hit, stamp = _bytes(value), _bytes(epoch)
        CACHE_LOOKUPS.labels(method, "hit" if hit is not None else "miss").inc()
        return hit, stamp.decode() if stamp is not None else "0"

    async def put(
        self, channel_id: int, method: str, request: bytes, response: bytes, epoch: str
    ) -> bool:
        """Store a response unless the channel was invalidated since ``epoch`` was read;
        the channel's hash expires ``ttl`` after its first entry. True if stored."""
        stored = await self._put(
            keys=[self._epoch_key(channel_id), self._key(channel_id)],
            args=[epoch, method.encode() + request, response, self._ttl],
        )
        return bool(stored)

    async def invalidate(self, channel_id: int) -> None:
        """Forget every cached response of the channel, and say so on the topic."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._epoch_key(channel_id))
            pipe.delete(self._key(channel_id))
            if self.topic:
                pipe.publish(self.topic, f"{CHANNEL_PREFIX}{channel_id}")
            await pipe.execute()


def _bytes(reply: object) -> bytes | None:
    """A string reply as bytes (the client may decode replies), None as None; a command
    Redis refused raises its error."""
    if isinstance(reply, ResponseError):
        raise reply
    if reply is None or isinstance(reply, bytes):
        return reply
    return str(reply).encode()
