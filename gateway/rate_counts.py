"""Rate-limit hits of concurrent requests counted in one Redis round trip.

Each hit is the ``limits`` package's own sliding-window step: its Lua script
(``acquire_sliding_window.lua``, read from the installed package, not copied), on the
keys its ``RedisStorage`` uses (``<prefix>:{<item key>}`` and ``<prefix>:{<item key>}/-1``),
so ``SlidingWindowCounterRateLimiter.get_window_stats`` reads what is counted here and
counts carry over from one gateway version to the next. What differs is the trip: the
library sends one ``EVALSHA`` per hit and waits for it, and that round trip (connection
checkout, a write, an event-loop wake-up for the reply) cost the gateway about 0.16 ms
of CPU per authenticated read, a third of a cached dashboard read. Here the hits that
arrive while one batch is on its way go out together in the next, as one pipeline. Every
hit is still counted in Redis, atomically, before its request goes on, and decided on
the count every replica shares; a lone request waits for one round trip as before, and
under load at most two.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

import redis.asyncio as redis
from limits import RateLimitItem
from limits.aio.storage.redis.bridge import RedisBridge
from redis.exceptions import NoScriptError

_SCRIPT = RedisBridge.SCRIPT_ACQUIRE_SLIDING_WINDOW


@dataclass(frozen=True)
class _Hit:
    keys: tuple[str, str]
    args: tuple[int, int, int]
    decided: asyncio.Future[bool]


class SlidingWindowCounts:
    """``hit`` counts one request against a limit item, as
    ``SlidingWindowCounterRateLimiter.hit`` does, sharing the round trip with the hits
    made meanwhile. Redis errors reach every hit of the failed batch."""

    def __init__(self, client: redis.Redis, key_prefix: str) -> None:
        self._client = client
        self._prefix = key_prefix
        self._sha = hashlib.sha1(_SCRIPT).hexdigest()  # noqa: S324 - EVALSHA names a script by its SHA-1
        self._waiting: list[_Hit] = []
        self._sending: asyncio.Task[None] | None = None

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """True if one more request fits ``item``'s limit (and is now counted)."""
        key = f"{self._prefix}:{{{item.key_for(*identifiers)}}}"
        loop = asyncio.get_running_loop()
        decided = loop.create_future()
        self._waiting.append(_Hit((f"{key}/-1", key), (item.amount, item.get_expiry(), 1), decided))
        sending = self._sending
        # A sender left on another (closed) event loop would never send these.
        if sending is None or sending.done() or sending.get_loop() is not loop:
            self._sending = loop.create_task(self._send())
        return bool(await decided)

    async def _send(self) -> None:
        """Send what is waiting, then what arrived meanwhile, until nothing is left."""
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    results = await self._evaluate(batch)
                except asyncio.CancelledError:
                    # The gateway is stopping: nobody is left to decide for.
                    for hit in batch + self._waiting:
                        hit.decided.cancel()
                    raise
                except Exception as exc:  # noqa: BLE001 - each waiting request gets it
                    for hit in batch:
                        if not hit.decided.done():
                            hit.decided.set_exception(exc)
                    continue
                for hit, result in zip(batch, results, strict=True):
                    if not hit.decided.done():
                        hit.decided.set_result(bool(result))
        finally:
            self._sending = None

    async def _evaluate(self, batch: list[_Hit]) -> list[object]:
        try:
            return await self._pipeline(batch)
        except NoScriptError:
            # A restarted or flushed Redis has forgotten the script: load it, once.
            await self._client.script_load(_SCRIPT)
            return await self._pipeline(batch)

    async def _pipeline(self, batch: list[_Hit]) -> list[object]:
        async with self._client.pipeline(transaction=False) as pipe:
            for hit in batch:
                pipe.evalsha(self._sha, 2, *hit.keys, *hit.args)
            return list(await pipe.execute())
