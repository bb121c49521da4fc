"""Rate-limit hits of concurrent requests counted in one Redis round trip.

Each hit is the ``limits`` package's own sliding-window step: its Lua script
(``acquire_sliding_window.lua``, read from the installed package, not copied), on the
keys its ``RedisStorage`` uses (``<prefix>:{<item key>}`` and ``<prefix>:{<item key>}/-1``),
so ``SlidingWindowCounterRateLimiter.get_window_stats`` reads what is counted here and
counts carry over from one gateway version to the next. What differs is the trip: the
library sends one ``EVALSHA`` per hit and waits for it, and that round trip cost the
gateway about 0.16 ms of CPU per authenticated read, a third of a cached dashboard read.
Here the hits share round trips (``analyticbot.runtime.redis_batch``). Every hit is still
counted in Redis, atomically, before its request goes on, and decided on the count every
replica shares.
"""

from __future__ import annotations

import hashlib

import redis.asyncio as redis
from limits import RateLimitItem
from limits.aio.storage.redis.bridge import RedisBridge
from redis.exceptions import NoScriptError, ResponseError

from analyticbot.runtime.redis_batch import RedisBatch

_SCRIPT = RedisBridge.SCRIPT_ACQUIRE_SLIDING_WINDOW
_SHA = hashlib.sha1(_SCRIPT).hexdigest()  # noqa: S324 - EVALSHA names a script by its SHA-1


class SlidingWindowCounts:
    """``hit`` counts one request against a limit item, as
    ``SlidingWindowCounterRateLimiter.hit`` does, sharing the round trip with the hits
    made meanwhile. Redis errors reach every hit of the failed batch."""

    def __init__(self, client: redis.Redis, key_prefix: str) -> None:
        self._batch = RedisBatch(client)
        self._prefix = key_prefix

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """True if one more request fits ``item``'s limit (and is now counted)."""
        key = f"{self._prefix}:{{{item.key_for(*identifiers)}}}"
        command = ("EVALSHA", _SHA, 2, f"{key}/-1", key, item.amount, item.get_expiry(), 1)
        (reply,) = await self._batch.run(command)
        if isinstance(reply, NoScriptError):
            # A restarted or flushed Redis has forgotten the script: give it again.
            await self._batch.client.script_load(_SCRIPT)
            (reply,) = await self._batch.run(command)
        if isinstance(reply, ResponseError):
            raise reply
        return bool(reply)
