"""What a relay does, for the tests of the gateway's listeners (test_access_cache,
test_answer_memo): publish on a topic through the real Redis, and wait for the effect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import redis.asyncio as redis


async def publish(redis_url: str, topic: str, message: str) -> None:
    """Publish ``message`` once someone listens on ``topic`` (the app subscribes in the
    background after it starts)."""
    client = redis.Redis.from_url(redis_url)
    try:
        for _ in range(200):
            if await client.publish(topic, message) > 0:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"nobody subscribed to {topic}")
    finally:
        await client.aclose()


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in 3 s")
