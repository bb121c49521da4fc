"""Queue depth of the Redis Streams between services, sampled into Prometheus gauges.

The collector appends ingest events that analytics consumes; analytics appends alerts
that the bot consumes. For each stream this records its length and, for every consumer
group on it, the entries delivered but not acknowledged (``pending``), the entries not
yet delivered (``lag``, reported by Redis 7+) and how far behind the group is in time:
the age gap between the newest entry and the last one delivered to the group (stream ids
start with their millisecond timestamp, so this works on every Redis version).

Every replica that samples reports the same numbers; dashboards and alerts take ``max``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import redis.asyncio as redis
from prometheus_client import Gauge
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

STREAM_LENGTH = Gauge(
    "redis_stream_length", "Entries in a Redis stream (trimmed streams cap this).", ["stream"]
)
GROUP_PENDING = Gauge(
    "redis_stream_group_pending",
    "Entries delivered to a consumer group and not yet acknowledged.",
    ["stream", "group"],
)
GROUP_LAG = Gauge(
    "redis_stream_group_lag",
    "Entries of a stream not yet delivered to a consumer group (Redis 7+).",
    ["stream", "group"],
)
GROUP_LAG_SECONDS = Gauge(
    "redis_stream_group_lag_seconds",
    "Age gap between a stream's newest entry and the last one delivered to the group.",
    ["stream", "group"],
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _millis(entry_id: Any) -> int:
    return int(_text(entry_id).split("-", 1)[0])


async def sample_stream(client: redis.Redis, stream: str) -> None:
    """Read one stream's numbers into the gauges; a missing stream has length 0."""
    try:
        info: dict[Any, Any] = await client.xinfo_stream(stream)
    except ResponseError:
        STREAM_LENGTH.labels(stream).set(0)
        return
    STREAM_LENGTH.labels(stream).set(int(info["length"]))
    newest = _millis(info["last-generated-id"])
    groups: list[dict[Any, Any]] = await client.xinfo_groups(stream)
    for group in groups:
        name = _text(group["name"])
        GROUP_PENDING.labels(stream, name).set(int(group["pending"]))
        if group.get("lag") is not None:
            GROUP_LAG.labels(stream, name).set(int(group["lag"]))
        behind = max(0, newest - _millis(group["last-delivered-id"])) / 1000
        GROUP_LAG_SECONDS.labels(stream, name).set(behind)


async def watch_streams(
    client: redis.Redis, streams: Sequence[str], *, interval: float = 15.0
) -> None:
    """Sample ``streams`` every ``interval`` seconds until cancelled; a Redis outage is
    logged and the gauges keep their last values until it ends."""
    while True:
        for stream in streams:
            try:
                await sample_stream(client, stream)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                log.warning("sampling stream %s failed: %s", stream, exc)
        await asyncio.sleep(interval)
