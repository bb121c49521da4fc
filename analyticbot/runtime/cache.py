"""Redis client construction."""

from __future__ import annotations

import redis.asyncio as redis


def create_redis(url: str) -> redis.Redis:
    """A Redis client for ``redis://``, ``rediss://`` or ``unix://`` URLs; connects lazily."""
    return redis.Redis.from_url(url, decode_responses=False, health_check_interval=30)
