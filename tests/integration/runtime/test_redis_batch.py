"""Commands of concurrent callers in shared pipelines (``analyticbot.runtime.redis_batch``),
on the machine's Redis."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from analyticbot.runtime.redis_batch import RedisBatch


class CountedBatch(RedisBatch):
    """Notes how many callers each round trip carried."""

    def __init__(self, client: redis.Redis) -> None:
        super().__init__(client)
        self.trips: list[int] = []

    async def _pipeline(self, batch: list) -> list[object]:  # type: ignore[type-arg]
        self.trips.append(len(batch))
        return await super()._pipeline(batch)


async def test_concurrent_callers_share_round_trips_and_get_their_own_replies(
    redis_client: redis.Redis,
) -> None:
    batch = CountedBatch(redis_client)
    key = f"test:redis-batch:{uuid.uuid4().hex}"
    replies = await asyncio.gather(*(batch.run(("INCR", key), ("GET", key)) for _ in range(40)))
    # Each caller's two commands stay together and in order; callers take turns.
    counts = sorted(int(incr) for incr, _ in replies)  # type: ignore[call-overload]
    assert counts == list(range(1, 41))
    assert all(int(got) >= int(incr) for incr, got in replies)  # type: ignore[call-overload]
    assert sum(batch.trips) == 40
    assert len(batch.trips) <= 2  # the first caller alone, then everyone who came meanwhile
    await redis_client.delete(key)


async def test_a_refused_command_is_its_callers_reply_only(redis_client: redis.Redis) -> None:
    batch = RedisBatch(redis_client)
    key = f"test:redis-batch:{uuid.uuid4().hex}"
    await redis_client.set(key, "text")
    refused, fine = await asyncio.gather(batch.run(("INCR", key)), batch.run(("GET", key)))
    assert isinstance(refused[0], ResponseError)
    assert fine == [b"text"]
    await redis_client.delete(key)


async def test_a_lost_connection_fails_every_caller_and_the_next_batch_is_sent(
    redis_client: redis.Redis,
) -> None:
    unreachable = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    batch = RedisBatch(unreachable)
    results = await asyncio.gather(
        *(batch.run(("PING",)) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RedisConnectionError) for r in results), results
    await unreachable.aclose()
    batch.client = redis_client  # the same batcher, its Redis back
    assert await batch.run(("PING",)) == [True]
