"""Redis client construction."""

from __future__ import annotations

import redis.asyncio as redis


def create_redis(
    url: str, *, connect_timeout: float = 2.0, command_timeout: float = 5.0
) -> redis.Redis:
    """A Redis client for ``redis://``, ``rediss://`` or ``unix://`` URLs; connects lazily.

    While Redis is unreachable a command fails within ``connect_timeout`` (or
    ``command_timeout`` on a silent socket) with a ``redis`` connection/timeout error,
    which the gRPC edge answers as UNAVAILABLE. Blocking reads (``XREADGROUP BLOCK``)
    must block for less than ``command_timeout``; pub/sub ``listen()`` is not bounded.
    """
    return redis.Redis.from_url(
        url,
        decode_responses=False,
        health_check_interval=30,
        socket_connect_timeout=connect_timeout,
        socket_timeout=command_timeout,
    )
