"""Rate-limit hits batched into shared round trips (``gateway.rate_counts``), on the
machine's Redis: the same decisions and the same keys as the ``limits`` package's own
sliding window counter, in fewer trips."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import redis.asyncio as redis
from limits import parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.rate_counts import SlidingWindowCounts
from gateway.ratelimit import storage_uri


@pytest.fixture
def prefix() -> str:
    return f"test:rate-counts:{uuid.uuid4().hex}"


async def test_concurrent_hits_stop_exactly_at_the_limit(
    redis_client: redis.Redis, prefix: str
) -> None:
    counts = SlidingWindowCounts(redis_client, prefix)
    item = parse("30/minute")
    decisions = await asyncio.gather(*(counts.hit(item, "user", "42") for _ in range(50)))
    assert decisions.count(True) == 30
    assert decisions[:30] == [True] * 30  # in arrival order
    # Another identity has a window of its own.
    assert await counts.hit(item, "user", "43")


async def test_the_librarys_counter_and_the_batches_count_the_same_keys(
    redis_url: str, redis_client: redis.Redis, prefix: str
) -> None:
    # As the gateway builds it: the library's storage on the client's own pool.
    pool: Any = redis_client.connection_pool
    storage = RedisStorage(
        storage_uri(redis_url), implementation="redispy", key_prefix=prefix, connection_pool=pool
    )
    strategy = SlidingWindowCounterRateLimiter(storage)
    counts = SlidingWindowCounts(redis_client, prefix)
    item = parse("10/minute")
    for _ in range(4):
        assert await strategy.hit(item, "user", "7")
    decisions = await asyncio.gather(*(counts.hit(item, "user", "7") for _ in range(8)))
    assert decisions.count(True) == 6
    stats = await strategy.get_window_stats(item, "user", "7")
    assert stats.remaining == 0
    assert not await strategy.hit(item, "user", "7")


async def test_a_redis_that_forgot_the_script_is_given_it_again(
    redis_client: redis.Redis, prefix: str
) -> None:
    counts = SlidingWindowCounts(redis_client, prefix)
    item = parse("5/minute")
    assert await counts.hit(item, "ip", "10.0.0.1")
    await redis_client.script_flush()
    assert await counts.hit(item, "ip", "10.0.0.1")
    assert await redis_client.get(f"{prefix}:{{{item.key_for('ip', '10.0.0.1')}}}") == b"2"


async def test_an_unreachable_redis_fails_every_hit_of_the_batch_and_recovers(
    redis_client: redis.Redis, prefix: str
) -> None:
    unreachable = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    counts = SlidingWindowCounts(unreachable, prefix)
    item = parse("5/minute")
    results = await asyncio.gather(
        *(counts.hit(item, "user", "1") for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RedisConnectionError) for r in results), results
    await unreachable.aclose()
    # The batcher is not stuck: a working client behind the same object shape counts on.
    working = SlidingWindowCounts(redis_client, prefix)
    assert await working.hit(item, "user", "1")
